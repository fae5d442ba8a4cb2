"""Round trip of ``NixtlaClient.forecast`` against tsad's TimeGPT-compatible routes,
against tsad's own ``POST /v1/forecast`` doing the same work (peer, same run).

Starts ``tsad`` (``create_app``, default process runner) in a subprocess on a
free loopback port, takes the last 336 points of M4 Hourly series (synthetic
daily-seasonal series if the shared data is missing), and times, for 1 and 100
series, h=24, levels 80/95:

* the unmodified nixtla SDK: one ``forecast`` call (GET /model_params once per
  client, then one POST /v2/forecast carrying every series);
* the same /v2/forecast payload POSTed directly (server cost without the SDK's
  client-side work: pandas validation, a new httpx client per call);
* /v1/forecast: one request per series (its contract takes one series), sent
  one after another over a keep-alive connection, and 8 at a time.

Usage: ``nice python3 benchmarks/bench_timegpt_compat.py [--reps 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

M4 = Path(__file__).resolve().parents[2] / "shared" / "data" / "m4" / "Hourly-train.csv"
N_POINTS, H, LEVELS = 336, 24, [80, 95]
SERVER = """
import sys, uvicorn
from tsad.api.app import create_app
from tsad.settings import Settings
uvicorn.run(create_app(Settings.from_env()), host="127.0.0.1", port=int(sys.argv[1]),
            log_level="warning")
"""


def load(n_series: int) -> pd.DataFrame:
    start = pd.Timestamp("2024-01-01")
    ds = pd.date_range(start, periods=N_POINTS, freq="h")
    frames = []
    if M4.exists():
        rows = pd.read_csv(M4, nrows=n_series)
        for _, row in rows.iterrows():
            y = row.iloc[1:].dropna().to_numpy(np.float64)[-N_POINTS:]
            frames.append(pd.DataFrame({"unique_id": row.iloc[0], "ds": ds, "y": y}))
    else:
        rng = np.random.default_rng(0)
        t = np.arange(N_POINTS)
        for i in range(n_series):
            y = 100 + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, N_POINTS)
            frames.append(pd.DataFrame({"unique_id": f"S{i}", "ds": ds, "y": y}))
    return pd.concat(frames, ignore_index=True)


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TSAD_API_KEYS": "", "TSAD_REQUEST_DEADLINE_S": "300"}
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("tsad did not start")


def v1_bodies(df: pd.DataFrame) -> list[dict[str, object]]:
    bodies = []
    for _, part in df.groupby("unique_id", sort=False):
        secs = part["ds"].astype("int64").to_numpy() // 1_000_000_000
        points = [[int(t), float(v)] for t, v in zip(secs, part["y"], strict=True)]
        bodies.append({"points": points, "h": H, "levels": LEVELS, "model": "auto"})
    return bodies


def v2_body(df: pd.DataFrame) -> dict[str, object]:
    """The payload the SDK sends (float32 values, one request for every series)."""
    sizes = df.groupby("unique_id", sort=False).size().tolist()
    y = df["y"].to_numpy(np.float32).tolist()
    series = {"y": y, "sizes": sizes, "X": None}
    return {"series": series, "h": H, "freq": "h", "level": LEVELS, "model": "timegpt-2.1"}


def time_v2_raw(url: str, body: dict[str, object], reps: int) -> float:
    times = []
    with httpx.Client(base_url=url, timeout=300) as http:
        for _ in range(reps):
            t0 = time.perf_counter()
            r = http.post("/v2/forecast", json=body)
            times.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
    return statistics.median(times)


def time_sdk(client: object, df: pd.DataFrame, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = client.forecast(df, h=H, level=LEVELS)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - t0)
        assert len(out) == H * df["unique_id"].nunique()
    return statistics.median(times)


def time_v1_sequential(url: str, bodies: list[dict[str, object]], reps: int) -> float:
    times = []
    with httpx.Client(base_url=url, timeout=300) as http:
        for _ in range(reps):
            t0 = time.perf_counter()
            for body in bodies:
                r = http.post("/v1/forecast", json=body)
                assert r.status_code == 200, r.text
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_v1_concurrent(url: str, bodies: list[dict[str, object]], reps: int) -> float:
    async def run() -> float:
        limit = asyncio.Semaphore(8)
        async with httpx.AsyncClient(base_url=url, timeout=300) as http:

            async def one(body: dict[str, object]) -> None:
                async with limit:
                    r = await http.post("/v1/forecast", json=body)
                    assert r.status_code == 200, r.text

            t0 = time.perf_counter()
            await asyncio.gather(*(one(b) for b in bodies))
            return time.perf_counter() - t0

    return statistics.median(asyncio.run(run()) for _ in range(reps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tsad.models.timegpt_sdk import import_nixtla

    nixtla = import_nixtla()
    proc, url = start_server()
    try:
        client = nixtla.NixtlaClient(api_key="unused", base_url=url, max_retries=1)
        warm = load(1)
        client.forecast(warm, h=H, level=LEVELS)  # model worker import, model_params cache
        time_v1_sequential(url, v1_bodies(warm), 1)
        print(f"data: {'M4 Hourly' if M4.exists() else 'synthetic'}, {N_POINTS} points, h={H}")
        print(
            "| series | SDK `forecast` | raw POST /v2/forecast | /v1/forecast sequential "
            "| ratio SDK / v1 | ratio raw v2 / v1 | /v1/forecast 8 concurrent |"
        )
        print("|---|---|---|---|---|---|---|")
        for n in (1, 100):
            df = load(n)
            bodies = v1_bodies(df)
            reps = args.reps if n > 1 else args.reps * 5
            sdk = time_sdk(client, df, reps)
            raw = time_v2_raw(url, v2_body(df), reps)
            seq = time_v1_sequential(url, bodies, reps)
            conc = time_v1_concurrent(url, bodies, reps)
            print(
                f"| {n} | {sdk * 1000:.0f} ms | {raw * 1000:.0f} ms | {seq * 1000:.0f} ms "
                f"| {sdk / seq:.2f} | {raw / seq:.2f} | {conc * 1000:.0f} ms |"
            )
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
