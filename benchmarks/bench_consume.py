"""`tsad consume` throughput vs the raw client reading the same messages.

For Redis Streams (redis-py, ``XREADGROUP`` + ``XACK``) and NATS JetStream
(nats-py, pull ``fetch`` + ``ack``), on servers this script starts on free ports:
the stream is filled first, then read twice by two consumer groups — the raw
client (read and ack, nothing else) and ``consume()`` (decode, ``TsadService.ingest``
on the memory buffer, ack), both fetching 500 messages at a time. Two message
shapes: one JSON point per message (100 series), and line protocol with 100 lines
per message. Model fits are kept out (``TSAD_MIN_POINTS`` above what is sent).

    nice python3 benchmarks/bench_consume.py [--messages 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nats  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig  # noqa: E402

from tests.nats_server import NatsServer  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402
from tsad.integrations.streams.consumer import ConsumeOptions, ConsumeStats, consume  # noqa: E402
from tsad.integrations.streams.jetstream import JetStreamSource  # noqa: E402
from tsad.integrations.streams.redis_streams import RedisStreamSource  # noqa: E402
from tsad.integrations.streams.source import StreamSource  # noqa: E402
from tsad.service import TsadService  # noqa: E402
from tsad.settings import ModelSettings, Settings  # noqa: E402

T0 = 1_704_067_200
BATCH = 500


def messages(shape: str, n: int) -> tuple[list[bytes], int]:
    """``n`` message bodies and the points they hold."""
    if shape == "json":
        return [
            f'{{"series_id": "s{i % 100}", "timestamp": {T0 + i}, "value": {i % 17}}}'.encode()
            for i in range(n)
        ], n
    lines = 100
    return [
        "\n".join(
            f"cpu,host=h{k} usage={(i + k) % 17} {(T0 + i) * 10**9}" for k in range(lines)
        ).encode()
        for i in range(n)
    ], n * lines


async def tsad_rate(source: StreamSource, n: int, points: int) -> float:
    service = TsadService(Settings(models=ModelSettings(runner="thread", min_points=1_000_000)))
    stop, stats = asyncio.Event(), ConsumeStats()
    opts = ConsumeOptions(batch=BATCH, wait_s=0.2)
    started = time.perf_counter()
    task = asyncio.create_task(consume(service, source, stop, opts, stats))
    while stats.messages < n:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    await source.close()
    await service.close()
    assert stats.points == points and stats.dead_lettered == 0, stats
    return points / elapsed


async def bench_redis(shape: str, n: int) -> tuple[float, float]:
    server = RedisServer().start()
    try:
        client = aioredis.Redis.from_url(server.url)
        bodies, points = messages(shape, n)
        for k in range(0, n, 1000):
            async with client.pipeline(transaction=False) as pipe:
                for body in bodies[k : k + 1000]:
                    pipe.xadd("bench", {"data": body})
                await pipe.execute()
        await client.xgroup_create("bench", "raw", id="0")
        started, seen = time.perf_counter(), 0
        while seen < n:
            reply = await client.xreadgroup("raw", "r", {"bench": ">"}, count=BATCH, block=200)
            ids = [i for i, _ in reply[0][1]]
            await client.xack("bench", "raw", *ids)
            seen += len(ids)
        raw = points / (time.perf_counter() - started)
        await client.aclose()
        ours = await tsad_rate(RedisStreamSource(server.url, "bench", "tsad", "c"), n, points)
        return ours, raw
    finally:
        server.cleanup()


async def bench_nats(shape: str, n: int) -> tuple[float, float]:
    server = NatsServer().start()
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="BENCH", subjects=["bench.>"]))
        bodies, points = messages(shape, n)
        for k in range(0, n, 1000):
            await asyncio.gather(*(js.publish("bench.m", b) for b in bodies[k : k + 1000]))
        config = ConsumerConfig(durable_name="raw", ack_policy=AckPolicy.EXPLICIT)
        await js.add_consumer("BENCH", config)
        sub = await js.pull_subscribe_bind(durable="raw", stream="BENCH")
        started, seen = time.perf_counter(), 0
        while seen < n:
            msgs = await sub.fetch(BATCH, timeout=5)
            for msg in msgs:
                await msg.ack()
            seen += len(msgs)
        raw = points / (time.perf_counter() - started)
        await nc.close()
        ours = await tsad_rate(JetStreamSource(server.url, "BENCH", "tsad"), n, points)
        return ours, raw
    finally:
        server.cleanup()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    print("| source | message | messages | tsad consume points/s | raw client points/s | ratio |")
    print("|---|---|---:|---:|---:|---:|")
    for name, bench in (("Redis Streams", bench_redis), ("NATS JetStream", bench_nats)):
        for shape in ("json", "influx"):
            n = args.messages if shape == "json" else args.messages // 20
            ours, raw = await bench(shape, n)
            label = "1 JSON point" if shape == "json" else "100 lines (line protocol)"
            print(
                f"| {name} | {label} | {n:,} | {ours:,.0f} | {raw:,.0f} | {ours / raw:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
