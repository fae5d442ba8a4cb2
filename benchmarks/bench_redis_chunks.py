"""Redis point layout: chunks (this tree) against the previous one-member-per-point
layout (``tsad/buffer/redis_scripts.py`` at commit 3fe24b5, read from git), same
redis-server, same run.

* ingest: 1,000-point batches over 100 series, then single points into 10 series
  (each an append script call, one round trip);
* memory: INFO ``used_memory`` delta per stored point;
* window read: newest 2,016 points (a refit's window) of a 50,000-point series.

    nice python3 benchmarks/bench_redis_chunks.py [--batches 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import redis.asyncio as aredis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.redis_server import redis_server  # noqa: E402
from tsad.buffer.redis import POINT, RedisBuffer  # noqa: E402
from tsad.series import clean  # noqa: E402
from tsad.settings import BufferSettings  # noqa: E402

BEFORE = "3fe24b5"
T0 = 1_700_000_000_000


def old_scripts() -> dict[str, Any]:
    source = subprocess.run(
        ["git", "show", f"{BEFORE}:tsad/buffer/redis_scripts.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    namespace: dict[str, Any] = {}
    exec(compile(source, "old_redis_scripts", "exec"), namespace)
    return namespace


class OldLayout:
    """The previous RedisBuffer.append: the same arguments to its own Lua script."""

    def __init__(self, client: aredis.Redis) -> None:
        self.r = client
        self.script = client.register_script(old_scripts()["APPEND_LUA"])

    async def append(self, sid: str, ts: np.ndarray, y: np.ndarray) -> None:
        cleaned = clean(ts, y)
        rec = np.empty(cleaned.series.ts.shape[0], POINT)
        rec["ts"], rec["y"] = cleaned.series.ts, cleaned.series.y
        args = [sid, rec.tobytes(), 50_000, 0, 100_000]
        await self.script(keys=[f"tsad:{{{sid}}}:points", "tsad:series"], args=args)

    async def window_last(self, sid: str, n: int) -> None:
        members = await self.r.zrange(f"tsad:{{{sid}}}:points", 0, -1)
        rec = np.frombuffer(b"".join(members[-n:]), POINT)
        rec["ts"].astype(np.int64)


async def used(r: aredis.Redis) -> int:
    return int((await r.info("memory"))["used_memory"])


async def run(kind: str, url: str, batches: int) -> dict[str, float]:
    r = aredis.Redis.from_url(url)
    await r.flushall()
    store: Any = (
        OldLayout(r)
        if kind == "before"
        else RedisBuffer.from_settings(BufferSettings(redis_url=url))
    )
    rng = np.random.default_rng(0)
    before = await used(r)
    started = time.perf_counter()
    for b in range(batches):
        for s in range(100):
            ts = T0 + (b * 1000 + np.arange(1000, dtype=np.int64)) * 60_000
            await store.append(f"s{s}", ts, rng.normal(100, 5, 1000).round(2))
    bulk = 100 * batches * 1000 / (time.perf_counter() - started)
    per_point = (await used(r) - before) / (100 * batches * 1000)
    started = time.perf_counter()
    for i in range(2_000):
        for s in range(10):
            await store.append(f"one{s}", np.array([T0 + i * 60_000]), np.array([float(i)]))
    single = 20_000 / (time.perf_counter() - started)
    for b in range(50):
        ts = T0 + (b * 1000 + np.arange(1000, dtype=np.int64)) * 60_000
        await store.append("big", ts, np.ones(1000))
    reads = []
    for _ in range(20):
        t = time.perf_counter()
        if kind == "before":
            await store.window_last("big", 2016)
        else:
            await store.window("big", limit=2016)
        reads.append(time.perf_counter() - t)
    await r.aclose()
    if kind != "before":
        await store.close()
    return {
        "bulk": bulk,
        "single": single,
        "bytes": per_point,
        "read_ms": statistics.median(reads) * 1000,
    }


async def main(batches: int) -> None:
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
    with redis_server() as server:
        got: dict[str, dict[str, float]] = {}
        for kind in ("before", "chunks") * 3:  # interleaved; best of three
            res = await run(kind, server.url, batches)
            prev = got.get(kind)
            if prev is None:
                got[kind] = res
            else:
                got[kind] = {
                    "bulk": max(prev["bulk"], res["bulk"]),
                    "single": max(prev["single"], res["single"]),
                    "bytes": res["bytes"],
                    "read_ms": min(prev["read_ms"], res["read_ms"]),
                }
    b, c = got["before"], got["chunks"]
    print("| figure | one member per point (3fe24b5) | chunks | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| ingest, 1,000-point batches, points/s | {b['bulk']:,.0f} | {c['bulk']:,.0f} | "
          f"{c['bulk'] / b['bulk']:.2f} |")  # fmt: skip
    print(f"| ingest, single points, points/s | {b['single']:,.0f} | {c['single']:,.0f} | "
          f"{c['single'] / b['single']:.2f} |")  # fmt: skip
    print(f"| Redis memory per stored point (used_memory delta) | {b['bytes']:.1f} B | "
          f"{c['bytes']:.1f} B | {c['bytes'] / b['bytes']:.2f} |")  # fmt: skip
    print(f"| newest 2,016 of 50,000 points, median ms | {b['read_ms']:.2f} | "
          f"{c['read_ms']:.2f} | {c['read_ms'] / b['read_ms']:.2f} |")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10)
    asyncio.run(main(parser.parse_args().batches))
