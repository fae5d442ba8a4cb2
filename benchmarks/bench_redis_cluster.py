"""RedisBuffer ingest on a 3-master Redis Cluster vs one Redis, same load, same run.

Load: ``--series`` series x ``--batches`` batches of ``--points`` points, appended by
one process with ``--concurrency`` appends in flight (asyncio), as an API replica
under load would. Contenders, interleaved over ``--rounds`` rounds (best kept):

* ``single``: RedisBuffer on one redis-server (the append script updates the
  global series index in the same round trip);
* ``cluster``: RedisBuffer on the cluster as shipped: the append script touches only
  the series' slot; a series' first append also reserves it in the index;
* ``cluster, SADD each``: the alternative layout, the index updated by a separate
  SADD beside every append (sent concurrently), i.e. one extra command per append,
  all on the index's node.

Then listing 10k series: SMEMBERS of the index (what RedisBuffer does) vs SCAN of
``tsad:{*}:points`` on every master (the index-free alternative).

Starts its own servers (no persistence) on free ports; from the repo root:
``nice python3 benchmarks/bench_redis_cluster.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import redis.asyncio as aredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.redis_cluster import redis_cluster
from tests.redis_server import redis_server
from tsad.buffer.redis import POINT, RedisBuffer, _key
from tsad.settings import BufferSettings

T0 = 1_700_000_000_000
STEP = 60_000
Batch = tuple[str, np.ndarray, np.ndarray]


def load(n_series: int, n_batches: int, size: int) -> list[Batch]:
    rng = np.random.default_rng(0)
    steps = np.arange(size, dtype=np.int64)
    return [
        (f"host-{s}.cpu", T0 + (b * size + steps) * STEP, rng.normal(size=size))
        for b in range(n_batches)
        for s in range(n_series)
    ]


def buffer(url: str) -> RedisBuffer:
    return RedisBuffer.from_settings(BufferSettings(redis_url=url, max_points_per_series=10**7))


async def run(data: list[Batch], append: Callable[[Batch], Awaitable[object]], c: int) -> float:
    """Points per second with ``c`` appends in flight."""
    t = time.perf_counter()
    for i in range(0, len(data), c):
        await asyncio.gather(*(append(b) for b in data[i : i + c]))
    return sum(b[1].shape[0] for b in data) / (time.perf_counter() - t)


async def flush(clients: list[aredis.Redis]) -> None:
    for r in clients:
        await r.flushall()


async def main(args: argparse.Namespace) -> None:
    data = load(args.series, args.batches, args.points)
    n_points = sum(b[1].shape[0] for b in data)
    with redis_server() as single, redis_cluster() as cluster:
        masters = [aredis.Redis(port=p) for p in cluster.ports]
        plain = aredis.Redis.from_url(single.url)
        one, many = buffer(single.url), buffer(cluster.url)
        index = many._index

        async def sadd_each(b: Batch) -> None:
            sid, ts, y = b
            rec = np.empty(ts.shape[0], POINT)
            rec["ts"], rec["y"] = ts, y
            script_args = [sid, rec.tobytes(), 10**7, 0, 1]  # 1: already in the index
            await asyncio.gather(
                many._append(keys=[_key(sid, "points")], args=script_args),
                many._r.sadd(index, sid),
            )

        contenders: dict[str, Callable[[Batch], Awaitable[object]]] = {
            "single Redis": lambda b: one.append(*b),
            "cluster (tsad: reserve once)": lambda b: many.append(*b),
            "cluster, SADD each append": sadd_each,
        }
        rates: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.rounds):
            for name, append in contenders.items():
                await flush([plain, *masters])
                rates[name].append(await run(data, append, args.concurrency))
        print(
            f"ingest: {len(data):,} appends x {args.points} points ({n_points:,} points), "
            f"{args.concurrency} in flight, best of {args.rounds}"
        )
        base = max(rates["single Redis"])
        for name, r in rates.items():
            print(f"  {name:<30} {max(r):>12,.0f} points/s   ratio {max(r) / base:.2f}")
        print(f"  keys per cluster master: {cluster.keys_per_node()}")

        # listing: the index (SMEMBERS) vs SCAN over every master
        await flush([plain, *masters])
        ts, y = T0 + np.arange(3, dtype=np.int64) * STEP, np.zeros(3)
        ids = [f"list-{i}" for i in range(args.list_series)]
        for i in range(0, len(ids), 200):
            await asyncio.gather(*(many.append(sid, ts, y) for sid in ids[i : i + 200]))
        t = time.perf_counter()
        members = await many._r.smembers(index)
        smembers_ms = (time.perf_counter() - t) * 1e3
        t = time.perf_counter()
        found = 0
        for m in masters:
            async for _ in m.scan_iter(match="tsad:{*}:chunks", count=1000):
                found += 1
        scan_ms = (time.perf_counter() - t) * 1e3
        t = time.perf_counter()
        listed = await many.list_series()
        full_ms = (time.perf_counter() - t) * 1e3
        assert len(members) == found == len(listed) == len(ids)
        print(
            f"listing {len(ids):,} series: SMEMBERS index {smembers_ms:.1f} ms, "
            f"SCAN all masters {scan_ms:.1f} ms; list_series with infos {full_ms:.0f} ms"
        )
        for client in (plain, *masters):
            await client.aclose()
        await one.close()
        await many.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=1_000)
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--list-series", type=int, default=10_000)
    asyncio.run(main(ap.parse_args()))
