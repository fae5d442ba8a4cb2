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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--n", type=int, default=8640)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    changepoints()
    if not args.skip_latency:
        latency(args.rounds, args.n)


if __name__ == "__main__":
    main()
