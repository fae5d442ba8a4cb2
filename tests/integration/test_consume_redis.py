"""`tsad consume` from Redis Streams (real redis-server): ingest, ack, dead-letter, redeliver."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from tests.integration.cli_helpers import clean_env
from tests.redis_server import (  # noqa: F401  (fixtures)
    RedisServer,
    own_redis,
    redis_session,
    redis_url,
)
from tsad.buffer import make_buffer
from tsad.integrations.streams.consumer import ConsumeOptions, ConsumeStats, consume
from tsad.integrations.streams.redis_streams import RedisStreamSource
from tsad.service import TsadService
from tsad.settings import BufferSettings, ModelSettings, Settings

T0 = 1_704_067_200
STREAM = "metrics"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:  # noqa: F811
    c = aioredis.Redis.from_url(redis_url)
    yield c
    await c.aclose()


def service(buffer_url: str | None = None) -> TsadService:
    buffer = BufferSettings(redis_url=buffer_url, redis_timeout_s=0.5)
    return TsadService(Settings(buffer=buffer, models=ModelSettings(runner="thread")))


async def run_until(
    svc: TsadService,
    source: RedisStreamSource,
    done: Callable[[ConsumeStats], Awaitable[bool]],
    timeout_s: float = 20,
) -> ConsumeStats:
    """Consume in the background until ``done(stats)``; then stop and return the stats."""
    stop, stats = asyncio.Event(), ConsumeStats()
    task = asyncio.create_task(consume(svc, source, stop, ConsumeOptions(wait_s=0.1), stats))
    try:
        deadline = time.monotonic() + timeout_s
        while not await done(stats):
            assert not task.done(), task.exception()
            assert time.monotonic() < deadline, f"timed out: {stats}"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await source.close()
    return stats


async def test_messages_of_every_form_are_stored_and_acked(
    redis_url: str,  # noqa: F811
    client: aioredis.Redis,
) -> None:
    """JSON bodies, field-form entries and line protocol all land; nothing stays pending."""
    await client.xadd(
        STREAM, {"data": f'{{"series_id": "a", "points": [[{T0}, 1], [{T0 + 60}, 2]]}}'}
    )
    await client.xadd(STREAM, {"series_id": "b", "timestamp": T0, "value": "3.5"})
    await client.xadd(STREAM, {"data": f"cpu,host=h usage=4 {T0 * 10**9}"})
    svc = service()
    source = RedisStreamSource(redis_url, STREAM, "tsad", "c1")

    async def all_in(stats: ConsumeStats) -> bool:
        return stats.messages == 3

    stats = await run_until(svc, source, all_in)
    assert (stats.points, stats.accepted, stats.dead_lettered) == (4, 4, 0)
    assert (await svc.buffer.window("a")).y.tolist() == [1.0, 2.0]
    assert (await svc.buffer.window("b")).y.tolist() == [3.5]
    assert (await svc.buffer.window("cpu_usage,host=h")).ts.tolist() == [T0 * 1000]
    assert (await client.xpending(STREAM, "tsad"))["pending"] == 0
    await svc.close()


async def test_bad_messages_are_dead_lettered_with_a_reason_and_acked(
    redis_url: str,  # noqa: F811
    client: aioredis.Redis,
) -> None:
    """A bad message goes to STREAM:dead with why, is acked, and the good ones still land."""
    await client.xadd(STREAM, {"data": "{broken"})
    await client.xadd(STREAM, {"data": f'{{"series_id": "ok", "value": 1, "timestamp": {T0}}}'})
    svc = service()

    async def seen(stats: ConsumeStats) -> bool:
        return stats.messages + stats.dead_lettered == 2

    stats = await run_until(svc, RedisStreamSource(redis_url, STREAM, "tsad", "c1"), seen)
    assert (stats.messages, stats.dead_lettered) == (1, 1)
    ((_, fields),) = await client.xrange(f"{STREAM}:dead")
    assert fields[b"data"] == b"{broken" and b"not valid JSON" in fields[b"reason"]
    assert (await client.xpending(STREAM, "tsad"))["pending"] == 0
    assert len(await svc.buffer.window("ok")) == 1
    await svc.close()


async def test_unacked_messages_of_a_dead_consumer_are_redelivered(
    redis_url: str,  # noqa: F811
    client: aioredis.Redis,
) -> None:
    """A consumer that fetched but died before acking: its restart re-reads and stores them."""
    await client.xadd(STREAM, {"series_id": "r", "timestamp": T0, "value": 1})
    crashed = RedisStreamSource(redis_url, STREAM, "tsad", "c1")
    await crashed.open()
    assert len(await crashed.fetch(10, 0.1)) == 1  # delivered, never acked
    await crashed.close()
    svc = service()

    async def stored(stats: ConsumeStats) -> bool:
        return stats.messages == 1

    await run_until(svc, RedisStreamSource(redis_url, STREAM, "tsad", "c1"), stored)
    assert (await svc.buffer.window("r")).y.tolist() == [1.0]
    assert (await client.xpending(STREAM, "tsad"))["pending"] == 0
    await svc.close()


async def test_buffer_down_keeps_messages_pending_until_it_is_back(
    redis_url: str,  # noqa: F811
    client: aioredis.Redis,
    own_redis: RedisServer,  # noqa: F811
) -> None:
    """With the buffer's Redis down nothing is acked; once it is back the points land."""
    svc = service(own_redis.url)
    own_redis.stop()
    await client.xadd(STREAM, {"series_id": "p", "timestamp": T0, "value": 5})
    source = RedisStreamSource(redis_url, STREAM, "tsad", "c1")

    async def retried_then_stored(stats: ConsumeStats) -> bool:
        if stats.retries >= 2 and own_redis.proc is not None and own_redis.proc.poll() is not None:
            assert (await client.xpending(STREAM, "tsad"))["pending"] == 1
            own_redis.start()
        return stats.messages == 1

    stats = await run_until(svc, source, retried_then_stored)
    assert stats.retries >= 2
    check = make_buffer(BufferSettings(redis_url=own_redis.url))
    assert (await check.window("p")).y.tolist() == [5.0]
    await check.close()
    await svc.close()


def test_cli_consumes_into_the_redis_buffer_and_stops_on_sigterm(
    redis_url: str,  # noqa: F811
) -> None:
    """`tsad consume redis://...` stores points in the TSAD_REDIS_URL buffer; SIGTERM exits 0."""
    env = clean_env(TSAD_REDIS_URL=redis_url, TSAD_RUNNER="thread")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsad", "consume", redis_url, "--stream", "cli.points"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    async def feed_and_wait() -> list[float]:
        client = aioredis.Redis.from_url(redis_url)
        buffer = make_buffer(BufferSettings(redis_url=redis_url))
        try:
            for i in range(3):
                await client.xadd("cli.points", {"data": f"web rps={i} {(T0 + i) * 10**9}"})
            deadline = time.monotonic() + 60
            while len(await buffer.window("web_rps")) < 3:
                assert proc.poll() is None and time.monotonic() < deadline
                await asyncio.sleep(0.1)
            return (await buffer.window("web_rps")).y.tolist()
        finally:
            await client.aclose()
            await buffer.close()

    try:
        assert asyncio.run(feed_and_wait()) == [0.0, 1.0, 2.0]
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    assert "consumed 3 messages (3 points, 3 new" in out


async def test_points_the_buffer_refuses_dead_letter_their_messages(
    redis_url: str,  # noqa: F811
    client: aioredis.Redis,
) -> None:
    """A message whose series the buffer cannot take (TSAD_MAX_SERIES) is dead-lettered."""
    await client.xadd(STREAM, {"series_id": "one", "timestamp": T0, "value": 1})
    await client.xadd(STREAM, {"series_id": "two", "timestamp": T0, "value": 2})
    svc = TsadService(
        Settings(buffer=BufferSettings(max_series=1), models=ModelSettings(runner="thread"))
    )

    async def seen(stats: ConsumeStats) -> bool:
        return stats.messages + stats.dead_lettered == 2

    stats = await run_until(svc, RedisStreamSource(redis_url, STREAM, "tsad", "c1"), seen)
    assert (stats.messages, stats.dead_lettered) == (1, 1)
    ((_, fields),) = await client.xrange(f"{STREAM}:dead")
    assert b"maximum" in fields[b"reason"]
    await svc.close()
