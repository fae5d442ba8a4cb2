"""RedisBuffer figures against raw redis-py on the same redis-server, in the same run.

* ingest: 1,000-point batches through ``RedisBuffer.append`` (dedupe + retention,
  one Lua round trip each) vs raw redis-py ZADDs of the same packed members,
  (a) one batch per round trip and (b) pipelined ``--pipeline`` batches per round trip;
* window read latency: 10k points out of a 50k-point series;
* memory per 100k stored points (INFO memory delta), one series and 100 series.

Starts its own redis-server (no persistence) on a free port; run from the repo root:
``nice python3 benchmarks/bench_redis.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import redis.asyncio as aredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.redis_server import redis_server
from tsad.buffer.redis import POINT, RedisBuffer
from tsad.settings import BufferSettings

T0 = 1_700_000_000_000
STEP = 60_000


def batches(n_series: int, n_batches: int, size: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    out = []
    for b in range(n_batches):
        for s in range(n_series):
            ts = T0 + (b * size + np.arange(size, dtype=np.int64)) * STEP
            out.append((f"series-{s}", ts, rng.normal(size=size)))
    return out


def packed(ts: np.ndarray, y: np.ndarray) -> list[object]:
    """ZADD arguments for the same packed members RedisBuffer stores: score, member, ..."""
    rec = np.empty(ts.shape[0], POINT)
    rec["ts"], rec["y"] = ts, y
    raw = rec.tobytes()
    args: list[object] = [0] * (2 * ts.shape[0])
    args[0::2] = ts.tolist()
    args[1::2] = [raw[i : i + 16] for i in range(0, len(raw), 16)]
    return args


async def used_memory(r: aredis.Redis) -> int:
    info = await r.info("memory")
    return int(info["used_memory"])


async def ingest(url: str, data: list[tuple[str, np.ndarray, np.ndarray]], pipe_n: int) -> None:
    r = aredis.Redis.from_url(url)
    n_points = sum(ts.shape[0] for _, ts, _ in data)
    buf = RedisBuffer.from_settings(BufferSettings(redis_url=url, max_points_per_series=10**7))
    await buf.append("warm", data[0][1], data[0][2])  # load the script once

    rates: dict[str, list[float]] = {"buffer": [], "raw": [], "raw_pipe": []}
    for _ in range(3):  # interleaved repeats: contention hits every contender alike
        await r.flushall()
        t = time.perf_counter()
        for sid, ts, y in data:
            await buf.append(sid, ts, y)
        rates["buffer"].append(n_points / (time.perf_counter() - t))

        await r.flushall()
        t = time.perf_counter()
        for sid, ts, y in data:
            await r.execute_command("ZADD", f"tsad:{{{sid}}}:points", *packed(ts, y))
        rates["raw"].append(n_points / (time.perf_counter() - t))

        await r.flushall()
        t = time.perf_counter()
        for i in range(0, len(data), pipe_n):
            pipe = r.pipeline(transaction=False)
            for sid, ts, y in data[i : i + pipe_n]:
                pipe.execute_command("ZADD", f"tsad:{{{sid}}}:points", *packed(ts, y))
            await pipe.execute()
        rates["raw_pipe"].append(n_points / (time.perf_counter() - t))

    # the dedupe path: the same batches again, so every point replaces a stored one
    t = time.perf_counter()
    for sid, ts, y in data:
        await buf.append(sid, ts, y + 1.0)
    resend = n_points / (time.perf_counter() - t)
    best = {k: max(v) for k, v in rates.items()}
    print(f"ingest, {len(data)} batches x {data[0][1].shape[0]} points ({n_points:,} points)")
    print(f"  RedisBuffer.append (Lua, 1 round trip/batch): {best['buffer']:>12,.0f} points/s")
    print(f"  raw ZADD, 1 round trip/batch:                 {best['raw']:>12,.0f} points/s")
    print(f"  raw ZADD, {pipe_n} batches/pipeline:             {best['raw_pipe']:>12,.0f} points/s")
    print(f"  RedisBuffer.append, every point re-sent:     {resend:>12,.0f} points/s")
    ratio = best["buffer"] / best["raw_pipe"]
    print(f"  ratio RedisBuffer / raw pipelined: {ratio:.2f} (goal >= 0.5)")
    print(f"  ratio RedisBuffer / raw per batch: {best['buffer'] / best['raw']:.2f}")
    await buf.close()
    await r.aclose()


async def reads(url: str) -> None:
    r = aredis.Redis.from_url(url)
    await r.flushall()
    buf = RedisBuffer.from_settings(BufferSettings(redis_url=url))
    ts = T0 + np.arange(50_000, dtype=np.int64) * STEP
    for i in range(0, 50_000, 1_000):
        await buf.append("big", ts[i : i + 1_000], np.sin(ts[i : i + 1_000] / 1e7))
    lat_range, lat_tail = [], []
    for k in range(60):
        lo = int(ts[(k * 613) % 40_000])
        t = time.perf_counter()
        w = await buf.window("big", start=lo, end=lo + 9_999 * STEP)
        lat_range.append(time.perf_counter() - t)
        assert len(w) == 10_000
        t = time.perf_counter()
        w = await buf.window("big", limit=10_000)
        lat_tail.append(time.perf_counter() - t)
        assert len(w) == 10_000
    for name, lat in (("start/end", lat_range), ("limit (newest)", lat_tail)):
        ms = sorted(x * 1e3 for x in lat)
        p95 = ms[int(0.95 * len(ms))]
        med = statistics.median(ms)
        print(f"window of 10k points by {name}: median {med:.2f} ms, p95 {p95:.2f} ms")
    await buf.close()
    await r.aclose()


async def memory(url: str) -> None:
    r = aredis.Redis.from_url(url)
    buf = RedisBuffer.from_settings(BufferSettings(redis_url=url, max_points_per_series=10**7))
    for n_series in (1, 100):
        await r.flushall()
        before = await used_memory(r)
        per = 100_000 // n_series
        for s in range(n_series):
            for i in range(0, per, 1_000):
                ts = T0 + (i + np.arange(min(1_000, per - i), dtype=np.int64)) * STEP
                await buf.append(f"s{s}", ts, np.cos(ts / 1e6))
        delta = await used_memory(r) - before
        print(
            f"memory for 100k points in {n_series} series: {delta / 2**20:.1f} MiB "
            f"({delta / 100_000:.0f} B/point)"
        )
    await buf.close()
    await r.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--pipeline", type=int, default=10)
    args = parser.parse_args()
    with redis_server() as server:
        await ingest(server.url, batches(args.series, args.batches, 1_000), args.pipeline)
        await reads(server.url)
        await memory(server.url)


if __name__ == "__main__":
    asyncio.run(main())
