"""Prometheus remote write vs JSON bulk append: samples/s of one `tsad serve` process.

Each request carries 1,000 samples, shaped three ways (series x samples per
series): 1,000 x 1 (one scrape of a big target: what Prometheus mostly sends),
100 x 10 and 10 x 100. The same points go to a second server as the JSON body of
``POST /v1/points`` (series ids as remote write maps them). Both servers run
``create_app`` under uvicorn in child processes (memory buffer, one worker) and
are driven alternately by an httpx client over 4 keep-alive connections, bodies
pre-encoded, so
the figure is the server's work: decode, append, score. Median of ``--rounds``.
Model fits are kept out of the figure (``TSAD_MIN_POINTS`` above what is sent, so
no refit runs), as ``bench_ingest.py`` does with a stored band.

A second table runs the two routes' own work in this process, without HTTP (the
client shares the two cores with the server above): ``decode_write`` +
``store_write`` against ``decode_json`` + ``validated_points`` + ``TsadService.ingest``
per series, as ``POST /v1/points`` does; best of ``--rounds`` rounds, alternating.

    nice python3 benchmarks/bench_remote_write.py [--requests 60] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.redis_server import free_port  # noqa: E402
from tests.remote_write_messages import HEADERS, snappy_body, write_request  # noqa: E402
from tsad.api.decode import decode_json  # noqa: E402
from tsad.api.routes.series import validated_points  # noqa: E402
from tsad.api.schemas import BulkIngestRequest  # noqa: E402
from tsad.integrations.remote_write.decode import SeriesIds, decode_write, series_id_for  # noqa: E402
from tsad.integrations.remote_write.store import KnownSeries, store_write  # noqa: E402
from tsad.service import TsadService  # noqa: E402
from tsad.settings import ModelSettings, Settings  # noqa: E402

T0_MS = 1_704_067_200_000
STEP_MS = 15_000
SHAPES = ((1000, 1), (100, 10), (10, 100))
CONNECTIONS = 4


def bodies(n_series: int, per: int, requests: int, offset: int) -> tuple[list[bytes], list[bytes]]:
    """The same samples as remote-write bodies and as JSON bulk bodies."""
    rw, js = [], []
    for r in range(offset, offset + requests):
        series = []
        for s in range(n_series):
            labels = {"__name__": "bench_metric", "instance": f"host{s}:9100", "job": "node"}
            samples = [
                (T0_MS + STEP_MS * (r * per + k), float((s + k + r) % 97)) for k in range(per)
            ]
            series.append((labels, samples))
        rw.append(snappy_body(write_request(series)))
        bulk = {
            "series": [
                {
                    "series_id": series_id_for(
                        lab["__name__"], [(k, v) for k, v in lab.items() if k != "__name__"]
                    ),
                    "points": [[t / 1000, v] for t, v in smp],
                }
                for lab, smp in series
            ]
        }
        js.append(json.dumps(bulk).encode())
    return rw, js


class Server:
    def __init__(self) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TSAD_")}
        env.update(
            PYTHONPATH=str(ROOT),
            TSAD_RUNNER="thread",
            TSAD_BUFFER="memory",
            TSAD_REMOTE_WRITE_MAX_NEW_SERIES="100000",
        )
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tsad",
                "serve",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = httpx.Client(base_url=self.url, timeout=60)
        for _ in range(1200):
            try:
                if self.client.get("/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not start")

    def post_all(self, path: str, items: list[bytes], headers: dict[str, str]) -> float:
        """Post every body over ``CONNECTIONS`` concurrent keep-alive connections (one
        client at a time waits on scheduling, not on the server, on a loaded machine)."""

        async def run() -> float:
            limits = httpx.Limits(max_connections=CONNECTIONS)
            async with httpx.AsyncClient(base_url=self.url, timeout=60, limits=limits) as client:
                queue = list(reversed(items))

                async def worker() -> None:
                    while queue:
                        resp = await client.post(path, content=queue.pop(), headers=headers)
                        if resp.status_code != 200:
                            raise RuntimeError(resp.text[:500])

                started = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
                return time.perf_counter() - started

        return asyncio.run(run())

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)


async def in_process(n_series: int, per: int, requests: int, rounds: int) -> tuple[float, float]:
    """Samples/s of the two routes' work without HTTP: (remote write, JSON bulk)."""
    cfg = Settings(models=ModelSettings(runner="thread", min_points=1_000_000))
    rw_service, js_service = TsadService(cfg), TsadService(cfg)
    ids, known = SeriesIds(), KnownSeries()

    async def remote_write(items: list[bytes]) -> None:
        for body in items:
            await store_write(rw_service, decode_write(body, ids, 1 << 26), known, 10**6)

    async def json_bulk(items: list[bytes]) -> None:
        for body in items:
            req = decode_json(body, BulkIngestRequest)
            arrays = [
                validated_points(js_service, s.series_id, s.points, s.freq, s.model)
                for s in req.series
            ]
            for s, (ts, y) in zip(req.series, arrays, strict=True):
                await js_service.ingest(s.series_id, ts, y)

    warm_rw, warm_js = bodies(n_series, per, 1, 0)
    await remote_write(warm_rw)
    await json_bulk(warm_js)
    best_rw = best_js = float("inf")
    for rnd in range(rounds):
        rw, js = bodies(n_series, per, requests, 1 + rnd * requests)
        started = time.perf_counter()
        await json_bulk(js)
        best_js = min(best_js, time.perf_counter() - started)
        started = time.perf_counter()
        await remote_write(rw)
        best_rw = min(best_rw, time.perf_counter() - started)
    await rw_service.close()
    await js_service.close()
    samples = requests * n_series * per
    return samples / best_rw, samples / best_js


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("## in-process (the routes' work, no HTTP)")
    print("| series x samples | remote write samples/s | JSON bulk samples/s | ratio |")
    print("|---|---:|---:|---:|")
    for n_series, per in SHAPES:
        rw_rate, js_rate = asyncio.run(in_process(n_series, per, 10, max(args.rounds, 5)))
        print(
            f"| {n_series:,} x {per} | {rw_rate:,.0f} | {js_rate:,.0f} | {rw_rate / js_rate:.2f} |"
        )
    print(f"\n## HTTP (`tsad serve` child processes, {CONNECTIONS} keep-alive connections)")
    print("| series x samples | remote write samples/s | JSON bulk samples/s | ratio |")
    print("|---|---:|---:|---:|")
    for n_series, per in SHAPES:
        rw_server, js_server = Server(), Server()
        try:
            # a first request creates the series (not measured)
            warm_rw, warm_js = bodies(n_series, per, 1, 0)
            rw_server.post_all("/api/v1/write", warm_rw, HEADERS)
            js_server.post_all("/v1/points", warm_js, {"content-type": "application/json"})
            rw_rates, js_rates = [], []
            for rnd in range(args.rounds):
                rw, js = bodies(n_series, per, args.requests, 1 + rnd * args.requests)
                samples = args.requests * n_series * per
                js_rates.append(
                    samples
                    / js_server.post_all("/v1/points", js, {"content-type": "application/json"})
                )
                rw_rates.append(samples / rw_server.post_all("/api/v1/write", rw, HEADERS))
            rw_med, js_med = statistics.median(rw_rates), statistics.median(js_rates)
            print(
                f"| {n_series:,} x {per} | {rw_med:,.0f} | {js_med:,.0f} | {rw_med / js_med:.2f} |",
                flush=True,
            )
        finally:
            rw_server.stop()
            js_server.stop()


if __name__ == "__main__":
    main()
