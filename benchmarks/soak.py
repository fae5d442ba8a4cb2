"""Soak: a fixed request rate against `tsad serve` on loopback for a fixed time.

Starts its own `tsad serve` (memory buffer, default process runner) on a free
port, sends an open-loop mix of ingest (one point to one of --series series),
batch detect and forecast (inline 168 hourly points) at --rate requests/s for
--duration seconds, then stops. Prints errors, latency percentiles per kind, the
rate achieved, and the server's RSS (server + model worker) every 10 s.

    nice python3 benchmarks/soak.py                      # 10 min at 500 req/s
    nice python3 benchmarks/soak.py --duration 120       # a shorter run

Bounded: at most --max-in-flight requests outstanding; a request due while that
many are outstanding is not sent and is counted as ``skipped`` (the server, or
the client on a shared machine, is behind the target rate).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np

T0 = 1_700_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children, MB (from /proc)."""
    pids = [pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    total_kb = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def inline_points(rng: random.Random) -> list[list[float]]:
    phase = rng.random() * 24
    return [
        [T0 + 3600 * i, 100 + 20 * math.sin(2 * math.pi * (i + phase) / 24) + rng.gauss(0, 1)]
        for i in range(168)
    ]


class Soak:
    def __init__(self, base: str, args: argparse.Namespace) -> None:
        self.base = base
        self.args = args
        self.rng = random.Random(0)
        self.next_step = [0] * args.series
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.error_samples: list[str] = []
        self.sent = 0
        self.skipped = 0
        self.in_flight = 0

    def request(self) -> tuple[str, str, dict[str, object]]:
        r = self.rng.random()
        if r < self.args.detect:
            return "detect", "/v1/detect", {"points": inline_points(self.rng)}
        if r < self.args.detect + self.args.forecast:
            return "forecast", "/v1/forecast", {"points": inline_points(self.rng), "h": 24}
        s = self.rng.randrange(self.args.series)
        k = self.next_step[s]
        self.next_step[s] += 1
        y = 50 + 10 * math.sin(2 * math.pi * k / 1440) + self.rng.gauss(0, 1)
        return "ingest", f"/v1/series/soak-{s}/points", {"points": [[T0 + 60 * k, y]]}

    async def one(self, client: httpx.AsyncClient) -> None:
        kind, path, body = self.request()
        self.in_flight += 1
        started = time.perf_counter()
        try:
            resp = await client.post(path, json=body)
            ok = resp.status_code == 200
            if not ok and len(self.error_samples) < 5:
                self.error_samples.append(f"{kind} {resp.status_code} {resp.text[:160]}")
        except httpx.HTTPError as exc:
            ok = False
            if len(self.error_samples) < 5:
                self.error_samples.append(f"{kind} {type(exc).__name__}")
        finally:
            self.in_flight -= 1
        if ok:
            self.latency[kind].append((time.perf_counter() - started) * 1000)
        else:
            self.errors[kind] += 1

    async def run(self, pid: int | None) -> list[tuple[float, float]]:
        args = self.args
        limits = httpx.Limits(max_connections=args.max_in_flight, max_keepalive_connections=64)
        samples: list[tuple[float, float]] = []
        tasks: set[asyncio.Task[None]] = set()
        async with httpx.AsyncClient(base_url=self.base, timeout=60, limits=limits) as client:
            start = time.monotonic()
            next_sample = start
            interval = 1.0 / args.rate
            due = start
            while (now := time.monotonic()) < start + args.duration:
                if pid is not None and now >= next_sample:
                    samples.append((now - start, rss_mb(pid)))
                    print(
                        f"  t={now - start:5.0f}s rss={samples[-1][1]:7.1f} MB "
                        f"sent={self.sent} in_flight={self.in_flight}",
                        flush=True,
                    )
                    next_sample += 10
                # open loop: send every request that is due, however the last ones fare
                while due <= now:
                    due += interval
                    if self.in_flight >= args.max_in_flight:
                        self.skipped += 1
                        continue
                    task = asyncio.create_task(self.one(client))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    self.sent += 1
                await asyncio.sleep(max(0.0, min(due, next_sample) - time.monotonic()))
            if tasks:
                await asyncio.wait(tasks, timeout=120)
            if pid is not None:
                samples.append((time.monotonic() - start, rss_mb(pid)))
        return samples


def report(soak: Soak, samples: list[tuple[float, float]], seconds: float, warmup: float) -> None:
    args = soak.args
    done = sum(len(v) for v in soak.latency.values())
    errors = sum(soak.errors.values())
    print(
        f"\nsoak: {seconds:.0f} s, target {args.rate} req/s, sent {soak.sent} "
        f"({soak.sent / seconds:.0f} req/s), ok {done}, errors {errors}, "
        f"skipped (--max-in-flight reached) {soak.skipped}"
    )
    print("| kind | ok | errors | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind in ("ingest", "detect", "forecast"):
        lat = np.array(soak.latency.get(kind, [0.0]))
        p50, p95, p99 = np.percentile(lat, [50, 95, 99])
        print(
            f"| {kind} | {len(soak.latency.get(kind, []))} | {soak.errors.get(kind, 0)} | "
            f"{p50:.1f} | {p95:.1f} | {p99:.1f} | {lat.max():.1f} |"
        )
    for line in soak.error_samples:
        print("  error:", line)
    after = [mb for t, mb in samples if t >= warmup]
    if after:
        ref = after[0]
        lo, hi = min(after), max(after)
        print(
            f"RSS after {warmup:.0f} s warm-up: first {ref:.1f} MB, min {lo:.1f}, max {hi:.1f}, "
            f"last {after[-1]:.1f} MB (range {100 * (lo - ref) / ref:+.1f}% .. "
            f"{100 * (hi - ref) / ref:+.1f}%)"
        )
        print("RSS samples (s, MB):", ", ".join(f"{t:.0f}:{mb:.0f}" for t, mb in samples))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    ap.add_argument("--rate", type=float, default=500.0, help="requests per second")
    ap.add_argument("--series", type=int, default=50, help="series the ingest spreads over")
    ap.add_argument("--detect", type=float, default=0.02, help="share of batch detect")
    ap.add_argument("--forecast", type=float, default=0.02, help="share of forecast")
    ap.add_argument("--max-in-flight", type=int, default=128)
    ap.add_argument("--warmup", type=float, default=60.0, help="seconds before RSS is judged")
    ap.add_argument("--server-log", type=Path, help="write the server's output here")
    args = ap.parse_args()

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSAD_")}
    env["TSAD_DATA_DIR"] = tempfile.mkdtemp(prefix="tsad-bench-")  # a fresh embedded store
    log = args.server_log.open("w") if args.server_log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsad", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        soak = Soak(base, args)
        started = time.monotonic()
        samples = asyncio.run(soak.run(proc.pid))
        report(soak, samples, time.monotonic() - started, args.warmup)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
