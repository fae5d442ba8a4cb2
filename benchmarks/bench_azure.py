"""Azure Anomaly Detector-compatible routes: SDK round trip against tsad's own API,
and change points on NAB's artificialWithAnomaly files.

* ``latency``: the unmodified ``azure-ai-anomalydetector`` SDK's
  ``detect_univariate_entire_series`` on 8,640 points (NAB ``nyc_taxi``, 30-min) against a
  local ``tsad serve``, warm, p50/p99 over ``--rounds`` calls, interleaved in the same run
  with ``POST /v1/detect`` (httpx) on the same points; the ratio SDK / v1.
* ``changepoints``: ``tsad.detect.changepoints`` (batch and online, default window and
  threshold) on each NAB artificial file: a hit is a change point inside a labelled
  window, a false alarm one outside every window (files without anomalies included).

    nice python3 benchmarks/bench_azure.py [--rounds 30] [--n 8640]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
NAB = ROOT.parent / "shared" / "data" / "nab"


def load(rel: str) -> tuple[np.ndarray, np.ndarray]:
    df = pd.read_csv(NAB / "data" / rel)
    ts = pd.to_datetime(df["timestamp"]).astype("int64").to_numpy() // 1_000_000
    return ts.astype(np.int64), df["value"].to_numpy(np.float64)


def pct(xs: list[float], q: float) -> float:
    return float(np.quantile(np.asarray(xs), q))


def latency(rounds: int, n: int) -> None:
    from azure.ai.anomalydetector import AnomalyDetectorClient
    from azure.core.credentials import AzureKeyCredential

    from tsad.bench.load import local_server
    from tsad.series import format_ts

    ts, y = load("realKnownCause/nyc_taxi.csv")
    ts, y = ts[:n], y[:n]
    azure_body = {
        "series": [
            {"timestamp": format_ts(t), "value": float(v)}
            for t, v in zip(ts.tolist(), y.tolist(), strict=True)
        ],
        "granularity": "minutely",
        "customInterval": 30,
    }
    v1_body = {
        "points": [[t / 1000, float(v)] for t, v in zip(ts.tolist(), y.tolist(), strict=True)]
    }
    with local_server(120.0) as url:
        client = AnomalyDetectorClient(url, AzureKeyCredential("unused"), retry_total=0)
        http = httpx.Client(timeout=300)

        def sdk() -> float:
            t = time.perf_counter()
            res = client.detect_univariate_entire_series(azure_body)
            assert len(res.is_anomaly) == n
            return time.perf_counter() - t

        def v1() -> float:
            t = time.perf_counter()
            resp = http.post(f"{url}/v1/detect", json=v1_body)
            assert resp.status_code == 200, resp.text
            return time.perf_counter() - t

        def rest() -> float:
            t = time.perf_counter()
            resp = http.post(
                f"{url}/anomalydetector/v1.1/timeseries/entire/detect", json=azure_body
            )
            assert resp.status_code == 200, resp.text
            return time.perf_counter() - t

        for _ in range(3):  # warm: model imports, first fits
            sdk()
            v1()
            rest()
        a, b, c = [], [], []
        for _ in range(rounds):
            a.append(sdk())
            b.append(v1())
            c.append(rest())
    print(f"entire detect, {n} points, {rounds} warm calls each, interleaved")
    print(f"  SDK  p50 {1000 * statistics.median(a):8.1f} ms  p99 {1000 * pct(a, 0.99):8.1f} ms")
    print(f"  /v1  p50 {1000 * statistics.median(b):8.1f} ms  p99 {1000 * pct(b, 0.99):8.1f} ms")
    print(
        f"  REST p50 {1000 * statistics.median(c):8.1f} ms  p99 {1000 * pct(c, 0.99):8.1f} ms"
        "  (the Azure route over plain httpx)"
    )
    print(f"  ratio SDK / v1 (p50) {statistics.median(a) / statistics.median(b):.2f}")
    print(f"  ratio REST / v1 (p50) {statistics.median(c) / statistics.median(b):.2f}")


def changepoints() -> None:
    from tsad.detect.changepoints import DEFAULT_THRESHOLD, DEFAULT_WINDOW, changepoint_job

    windows = json.loads((NAB / "labels" / "combined_windows.json").read_text())
    files = sorted(k for k in windows if k.startswith("artificial"))
    for mode in ("batch", "online"):
        hits = total = alarms = 0
        rows = []
        for rel in files:
            ts, y = load(rel)
            out = changepoint_job(12, ts, y, None, None, DEFAULT_WINDOW, DEFAULT_THRESHOLD, mode)
            found = out.result.ts[out.result.indices]
            wins = [
                (pd.Timestamp(a).value // 1_000_000, pd.Timestamp(b).value // 1_000_000)
                for a, b in windows[rel]
            ]
            hit = sum(any(a <= t <= b for t in found) for a, b in wins)
            false = sum(not any(a <= t <= b for a, b in wins) for t in found)
            hits, total, alarms = hits + hit, total + len(wins), alarms + false
            rows.append(f"    {rel:55s} windows {len(wins)} hits {hit} false alarms {false}")
        print(f"change points, {mode}: {hits}/{total} windows hit, {alarms} false alarms")
        print("\n".join(rows))


def quality() -> None:
    """Entire detect through the Azure route over every NAB file, flags as a binary
    detector, NAB-scored with the project's scorer (default sensitivity)."""
    from tsad.bench.load import local_server
    from tsad.bench.nab import load_corpus
    from tsad.bench.nab_scoring import PROFILES, row_weights, score_corpus, score_file
    from tsad.series import format_ts, infer_step_ms

    corpus = load_corpus(NAB)
    flags: dict[str, np.ndarray] = {}
    started = time.perf_counter()
    with local_server(120.0) as url, httpx.Client(timeout=600) as http:
        for f in corpus.files:
            step = infer_step_ms(np.sort(f.ts))
            slot = np.rint((f.ts - f.ts.min()) / step).astype(np.int64)
            uniq = np.unique(slot)  # sorted, one point per slot (the last row sent wins)
            last_row = {int(s): i for i, s in enumerate(slot.tolist())}
            values = np.array([f.value[last_row[int(s)]] for s in uniq])
            out = np.zeros(uniq.shape[0], bool)
            for lo in range(0, uniq.shape[0], 8640):
                a = max(0, min(lo, uniq.shape[0] - 8640))
                b = min(uniq.shape[0], a + 8640)
                body = {
                    "series": [
                        {"timestamp": format_ts(int(f.ts.min() + s * step)), "value": float(v)}
                        for s, v in zip(uniq[a:b].tolist(), values[a:b].tolist(), strict=True)
                    ],
                    "granularity": "minutely",
                    "customInterval": step // 60_000,
                }
                route = f"{url}/anomalydetector/v1.1/timeseries/entire/detect"
                resp = http.post(route, json=body)
                if resp.status_code == 400 and "missing points" in resp.text:
                    # what a client does when the service refuses a sparse series
                    print(f"  {f.key}: over half the slots missing, resent with notFill")
                    resp = http.post(route, json={**body, "imputeMode": "notFill"})
                assert resp.status_code == 200, (f.key, resp.text)
                out[lo:b] = np.asarray(resp.json()["isAnomaly"])[lo - a :]
            flags[f.key] = out[np.searchsorted(uniq, slot)].astype(np.float64)
    seconds = time.perf_counter() - started
    print(f"NAB through the Azure entire-detect route, {len(corpus.files)} files, {seconds:.0f} s")
    for name, cost in PROFILES.items():
        rows = {
            f.key: (row_weights(f.ts.shape[0], f.windows, cost), flags[f.key]) for f in corpus.files
        }
        res = score_corpus(rows, cost, name, corpus.n_windows)
        # the flags themselves (threshold 0.5 on 0/1), not the sweep's optimum, which may
        # be "no detection at all" when the flags cost more than they earn
        per = [score_file(r, a, 0.5, cost) for r, a in rows.values()]
        raw = sum(fs.score for fs in per)
        flags_score = 100.0 * (raw - res.null) / (res.perfect - res.null)
        tp, fp = sum(fs.tp for fs in per), sum(fs.fp for fs in per)
        print(
            f"  {name:20s} flags {flags_score:7.2f}  (windows hit {tp}/{corpus.n_windows}, "
            f"flags outside windows {fp}; the sweep's optimum {res.normalised:.2f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--n", type=int, default=8640)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--quality", action="store_true", help="also NAB through the route")
    args = parser.parse_args()
    changepoints()
    if args.quality:
        quality()
    if not args.skip_latency:
        latency(args.rounds, args.n)


if __name__ == "__main__":
    main()
