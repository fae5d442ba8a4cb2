"""Online ingest+score throughput, and batch detect against bare statsforecast.

1. In-process: ``TsadService.ingest`` through the memory buffer with a stored
   band (the hot path: append, dedupe, score against the band, record
   anomalies), one series, batches of 1, 100 and 1,000 points. Peer in the
   same run: ``score_against_band`` alone on the same arrays (the numpy floor).
2. HTTP: the same over loopback against uvicorn running ``create_app`` in a
   child process (one worker), bodies pre-encoded, one keep-alive client.
3. Batch detect on 8,640 5-min points (the first 8,640 rows of NAB's
   machine_temperature_system_failure.csv), warm: ``TsadService.detect`` vs
   statsforecast's MSTL with the same configuration as ``tsad/models/stats.py``
   called directly on the same values (in-sample band at 99%).

The stored band is synthetic (a daily cycle ± 3), long enough that no refit
becomes due while measuring: the figure is the hot path, not model fitting.

    nice python3 benchmarks/bench_ingest.py [--points 200000] [--http-points 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tsad.detect.online import StoredBand
from tsad.detect.score import score_against_band
from tsad.service import TsadService
from tsad.settings import ApiSettings, BufferSettings, ModelSettings, Settings
from tsad.state import SeriesState

STEP_MS = 60_000
T0_MS = 1_704_067_200_000
SERIES = "bench"
NAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "nab" / "data"
MACHINE = NAB / "realKnownCause" / "machine_temperature_system_failure.csv"


def settings() -> Settings:
    return Settings(
        buffer=BufferSettings(max_points_per_series=50_000),
        models=ModelSettings(runner="thread"),
        api=ApiSettings(max_body_bytes=64 * 1024 * 1024),
    )


def stream(n: int) -> tuple[np.ndarray, np.ndarray]:
    """A daily cycle with noise and ~0.1% spikes, one point a minute."""
    rng = np.random.default_rng(7)
    i = np.arange(n)
    ts = T0_MS + STEP_MS * i.astype(np.int64)
    y = 10 * np.sin(2 * np.pi * i / 1440) + rng.normal(0, 1, n)
    y[rng.random(n) < 0.001] += 25
    return ts, y


async def store_band(service: TsadService, n: int) -> None:
    """Seed the series with one point and a band reaching twice past ``n`` points."""
    i = np.arange(2 * n + 10)
    mean = 10 * np.sin(2 * np.pi * i / 1440)
    band = StoredBand(
        start=T0_MS,
        step_ms=STEP_MS,
        level=99.0,
        mean=mean,
        lo=mean - 3.0,
        hi=mean + 3.0,
        model_used="synthetic",
        fitted_at=int(time.time() * 1000),
        history_last=T0_MS - STEP_MS,
    )
    await service.buffer.append(SERIES, np.array([T0_MS - STEP_MS]), np.array([0.0]))
    await service.buffer.put_state(SERIES, SeriesState(band=band.to_state()))


async def bench_in_process(total: int) -> None:
    print("## in-process ingest+score (TsadService.ingest, memory buffer)")
    print("| batch | points | ingest points/s | score_against_band alone points/s | ratio |")
    print("|---:|---:|---:|---:|---:|")
    for batch in (1, 100, 1000):
        n = min(total, 20_000) if batch == 1 else total
        ts, y = stream(n)
        service = TsadService(settings())
        await store_band(service, n)
        chunks = [(ts[k : k + batch], y[k : k + batch]) for k in range(0, n, batch)]
        started = time.perf_counter()
        for cts, cy in chunks:
            await service.ingest(SERIES, cts, cy)
        elapsed = time.perf_counter() - started
        mean = 10 * np.sin(2 * np.pi * np.arange(batch) / 1440)
        lo, hi = mean - 3.0, mean + 3.0
        started = time.perf_counter()
        for cts, cy in chunks:
            if cts.shape[0] == batch:
                score_against_band(cts, cy, mean, lo, hi, 99.0)
            else:
                score_against_band(
                    cts, cy, mean[: cts.shape[0]], lo[: cts.shape[0]], hi[: cts.shape[0]], 99.0
                )
        floor = time.perf_counter() - started
        stored = len(await service.buffer.anomalies(SERIES))
        await service.close()
        print(
            f"| {batch:,} | {n:,} | {n / elapsed:,.0f} | {n / floor:,.0f} | "
            f"{elapsed / floor:.2f} |  (anomalies stored: {stored})"
        )


# --------------------------------------------------------------------------- HTTP


def serve(port: int, n: int) -> None:
    """Child process: the real app with a stored band, under uvicorn."""
    import uvicorn

    from tsad.api.app import create_app

    service = TsadService(settings())

    async def prepare() -> None:
        await store_band(service, n)
        await service.runner.warm_up()  # so the app's background warm-up is not measured

    asyncio.run(prepare())
    app = create_app(service.settings, service=service)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bench_http(total: int) -> None:
    import httpx

    print("\n## HTTP ingest+score (POST /v1/series/{id}/points, uvicorn, loopback)")
    print("| batch | points | points/s | requests/s | p50 ms | p99 ms |")
    print("|---:|---:|---:|---:|---:|---:|")
    for batch in (1, 100, 1000):
        n = min(total, 5_000) if batch == 1 else total
        port = free_port()
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), "--serve-points", str(n)],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=url, timeout=30) as client:
                for _ in range(600):
                    try:
                        if client.get("/ready").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.05)
                ts, y = stream(n)
                bodies = [
                    json.dumps(
                        {
                            "points": [
                                [t / 1000, v]
                                for t, v in zip(
                                    ts[k : k + batch].tolist(),
                                    y[k : k + batch].tolist(),
                                    strict=True,
                                )
                            ]
                        }
                    ).encode()
                    for k in range(0, n, batch)
                ]
                headers = {"content-type": "application/json"}
                path = f"/v1/series/{SERIES}/points"
                latencies = []
                started = time.perf_counter()
                for body in bodies:
                    t = time.perf_counter()
                    resp = client.post(path, content=body, headers=headers)
                    latencies.append(time.perf_counter() - t)
                    if resp.status_code != 200:
                        raise RuntimeError(resp.text)
                elapsed = time.perf_counter() - started
                latencies.sort()
                p50 = latencies[len(latencies) // 2] * 1000
                p99 = latencies[int(len(latencies) * 0.99)] * 1000
                print(
                    f"| {batch:,} | {n:,} | {n / elapsed:,.0f} | {len(bodies) / elapsed:,.0f} | "
                    f"{p50:.2f} | {p99:.2f} |"
                )
        finally:
            child.terminate()
            child.wait(10)


# --------------------------------------------------------------------------- detect


def bench_detect(runs: int) -> None:
    import pandas as pd
    from statsforecast.models import MSTL, AutoETS

    print("\n## batch detect, 8,640 5-min points (machine_temperature, first 8,640 rows), warm")
    df = pd.read_csv(MACHINE, nrows=8640)
    ts = (pd.to_datetime(df["timestamp"]).astype("int64") // 1_000_000).to_numpy(np.int64)
    y = df["value"].to_numpy(np.float64)

    def peer() -> None:
        model = MSTL(
            season_length=288,
            trend_forecaster=AutoETS(model="ANN"),
            stl_kwargs={"seasonal_jump": 12, "trend_jump": 12, "low_pass_jump": 12},
        )
        model.forecast(y=y, h=1, level=[99], fitted=True)

    async def tsad_detect(service: TsadService) -> int:
        outcome = await service.detect(points=(ts, y), level=99.0)
        return int(outcome.scored.is_anomaly.sum())

    async def wire_cost() -> None:
        """What the HTTP edge adds: parsing 8,640 inline pairs and encoding the answer."""
        import msgspec

        from tsad.api.decode import points_arrays
        from tsad.api.encode import scored_points

        service = TsadService(Settings(models=ModelSettings(runner="thread")))
        outcome = await service.detect(points=(ts, y), level=99.0)
        await service.close()
        pairs = [[t / 1000, v] for t, v in zip(ts.tolist(), y.tolist(), strict=True)]
        started = time.perf_counter()
        for _ in range(runs):
            points_arrays(pairs)
            msgspec.json.encode(scored_points(outcome.scored))
        each = (time.perf_counter() - started) / runs * 1000
        print(f"HTTP edge work (parse 8,640 pairs + encode 8,640 scored points): {each:.1f} ms")

    async def timed() -> None:
        for mode in ("thread", "process"):
            service = TsadService(Settings(models=ModelSettings(runner=mode)))
            flagged = await tsad_detect(service)  # warm: imports, worker start
            tsad_times, peer_times = [], []
            for _ in range(runs):
                t = time.perf_counter()
                await tsad_detect(service)
                tsad_times.append(time.perf_counter() - t)
                t = time.perf_counter()
                peer()
                peer_times.append(time.perf_counter() - t)
            await service.close()
            a, b = statistics.median(tsad_times), statistics.median(peer_times)
            lo_a, lo_b = min(tsad_times) * 1000, min(peer_times) * 1000
            print(
                f"runner={mode}: tsad detect median {a * 1000:.0f} ms (min {lo_a:.0f}), "
                f"statsforecast MSTL direct median {b * 1000:.0f} ms (min {lo_b:.0f}), "
                f"ratio {a / b:.2f}, flagged {flagged}"
            )

    asyncio.run(timed())
    asyncio.run(wire_cost())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--http-points", type=int, default=50_000)
    parser.add_argument("--detect-runs", type=int, default=7)
    parser.add_argument("--only", choices=("inproc", "http", "detect"))
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-points", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.serve_points)
        return
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
    if args.only in (None, "inproc"):
        asyncio.run(bench_in_process(args.points))
    if args.only in (None, "http"):
        bench_http(args.http_points)
    if args.only in (None, "detect"):
        bench_detect(args.detect_runs)


if __name__ == "__main__":
    main()
