"""The refit queue contract (memory and Redis Stream) and the worker loop on top of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests import redis_cluster as cluster_fixtures
from tests import redis_server as fixtures
from tests.redis_server import RedisServer
from tsad.errors import BufferUnavailable
from tsad.queue import MemoryRefitQueue, RefitQueue
from tsad.queue.redis import RedisRefitQueue
from tsad.settings import BufferSettings, Settings, WorkerSettings
from tsad.worker import run_worker

# the real redis-server fixtures (started here, never a server we did not start)
redis_session = fixtures.redis_session
redis_url = fixtures.redis_url
own_redis = fixtures.own_redis
redis_cluster_session = cluster_fixtures.redis_cluster_session
redis_cluster_url = cluster_fixtures.redis_cluster_url


@pytest.fixture(params=["memory", "redis", "cluster"])
async def make_queue(
    request: pytest.FixtureRequest,
) -> AsyncIterator[Callable[[], RefitQueue]]:
    """Builds queues of the parametrised kind; Redis ones share one (flushed) server
    or one (flushed) 3-master Redis Cluster."""
    made: list[RefitQueue] = []
    shared = MemoryRefitQueue()

    def make() -> RefitQueue:
        if request.param == "memory":
            return shared  # in-process: every "process" is this one object
        url = request.getfixturevalue(
            "redis_url" if request.param == "redis" else "redis_cluster_url"
        )
        queue = RedisRefitQueue.from_settings(Settings(buffer=BufferSettings(redis_url=url)))
        made.append(queue)
        return queue

    yield make
    for queue in made:
        await queue.close()


async def test_a_series_is_queued_once_until_its_entry_is_acked(
    make_queue: Callable[[], RefitQueue],
) -> None:
    """schedule is False while the series is queued or claimed, True again after ack."""
    api_a, api_b, worker = make_queue(), make_queue(), make_queue()
    assert await api_a.schedule("cpu") is True
    assert await api_b.schedule("cpu") is False
    assert await api_a.schedule("mem") is True
    claimed = await worker.claim("w1", count=10, block_ms=100)
    assert [sid for _, sid in claimed] == ["cpu", "mem"]
    assert await api_b.schedule("cpu") is False  # being fitted: not again
    await worker.ack(*claimed[0])
    assert await api_b.schedule("cpu") is True


async def test_claim_hands_each_entry_to_one_consumer(make_queue: Callable[[], RefitQueue]) -> None:
    """Two consumers claiming concurrently never get the same entry."""
    api, w1, w2 = make_queue(), make_queue(), make_queue()
    for i in range(6):
        await api.schedule(f"s{i}")
    got1, got2 = await asyncio.gather(w1.claim("w1", 3, 100), w2.claim("w2", 3, 100))
    ids = [sid for _, sid in got1 + got2]
    assert sorted(ids) == [f"s{i}" for i in range(6)]
    assert await w1.claim("w1", 3, 50) == []


async def test_idle_entries_are_reclaimed_unless_touched(
    make_queue: Callable[[], RefitQueue],
) -> None:
    """An idle entry is reclaimable by another consumer; a heartbeat keeps it with its owner."""
    api, dead, alive = make_queue(), make_queue(), make_queue()
    await api.schedule("cpu")
    [(entry_id, sid)] = await dead.claim("dead", 1, 100)
    # a 1 s idle threshold: the touch → reclaim gap must stay under it even on a
    # loaded CI machine (200 ms once failed there on the cluster variant)
    await asyncio.sleep(1.1)
    await dead.touch("dead", entry_id)
    assert await alive.reclaim("alive", min_idle_ms=1_000) == []
    await asyncio.sleep(1.1)
    assert await alive.reclaim("alive", min_idle_ms=1_000) == [(entry_id, "cpu")]
    await alive.ack(entry_id, sid)
    assert await alive.reclaim("alive", min_idle_ms=0) == []


async def test_redis_queue_fails_as_unavailable_and_recovers_after_restart(
    own_redis: RedisServer,
) -> None:
    """With Redis down the queue raises BufferUnavailable; after an empty restart it works."""
    queue = RedisRefitQueue.from_settings(Settings(buffer=BufferSettings(redis_url=own_redis.url)))
    assert await queue.claim("w", 1, 10) == []
    own_redis.stop()
    with pytest.raises(BufferUnavailable):
        await queue.schedule("cpu")
    with pytest.raises(BufferUnavailable):
        await queue.claim("w", 1, 10)
    own_redis.start()  # no persistence: stream, group and script cache are gone
    assert await queue.schedule("cpu") is True
    assert [sid for _, sid in await queue.claim("w", 1, 100)] == ["cpu"]
    await queue.close()


def _settings(url: str | None, reclaim_idle_s: float = 60.0) -> Settings:
    return Settings(
        buffer=BufferSettings(redis_url=url),
        worker=WorkerSettings(reclaim_idle_s=reclaim_idle_s, block_ms=50),
    )


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_worker_refits_each_scheduled_series_then_stops(redis_url: str) -> None:
    """run_worker calls refit for every queued series, acks them all, and stops on request."""
    settings = _settings(redis_url)
    api = RedisRefitQueue.from_settings(settings)
    fitted: list[str] = []

    async def refit(series_id: str) -> None:
        fitted.append(series_id)

    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, stop, "w1", refit=refit))
    for sid in ("a", "b", "c"):
        assert await api.schedule(sid) is True

    async def all_fitted() -> bool:
        return sorted(fitted) == ["a", "b", "c"]

    await _until(all_fitted)
    stop.set()
    assert await asyncio.wait_for(task, 5) == 3
    assert await api.pending() == 0
    assert await api.schedule("a") is True  # acked: the series may queue again
    await api.close()


async def test_a_failing_refit_is_acked_and_does_not_block_the_queue() -> None:
    """A refit raising an ordinary error is logged and acked; the next series still runs."""
    queue = MemoryRefitQueue()
    fitted: list[str] = []

    async def refit(series_id: str) -> None:
        if series_id == "bad":
            raise ValueError("model exploded")
        fitted.append(series_id)

    stop = asyncio.Event()
    await queue.schedule("bad")
    await queue.schedule("good")
    task = asyncio.create_task(run_worker(_settings(None), stop, "w", refit=refit, queue=queue))

    async def good_fitted() -> bool:
        return fitted == ["good"]

    await _until(good_fitted)
    stop.set()
    assert await asyncio.wait_for(task, 5) == 2
    assert await queue.schedule("bad") is True


async def test_a_slow_refit_keeps_its_entry_through_heartbeats(redis_url: str) -> None:
    """A refit longer than the reclaim time is not taken over by another worker."""
    settings = _settings(redis_url, reclaim_idle_s=0.3)
    api = RedisRefitQueue.from_settings(settings)
    calls: list[str] = []

    async def slow_refit(series_id: str) -> None:
        calls.append(series_id)
        await asyncio.sleep(1.2)

    stop = asyncio.Event()
    workers = [
        asyncio.create_task(run_worker(settings, stop, f"w{i}", refit=slow_refit)) for i in range(2)
    ]
    await api.schedule("cpu")

    async def acked() -> bool:
        return bool(calls) and await api.pending() == 0

    await _until(acked)
    stop.set()
    assert sum(await asyncio.gather(*workers)) == 1
    assert calls == ["cpu"]
    await api.close()


async def test_service_ingest_queues_on_the_stream_and_a_background_worker_fits(
    redis_url: str,
) -> None:
    """TsadService with the Redis queue as scheduler: an ingest queues the series on the
    stream, the in-process worker fits it, and the band lands in Redis state."""
    import numpy as np

    from tsad.buffer.redis import RedisBuffer
    from tsad.service import TsadService
    from tsad.worker import background_worker

    settings = Settings.from_env({"TSAD_REDIS_URL": redis_url, "TSAD_RUNNER": "thread"})
    queue = RedisRefitQueue.from_settings(settings)
    service = TsadService(settings, scheduler=queue)
    ts = (1_700_000_000 + np.arange(120, dtype=np.int64) * 300) * 1000
    y = 10 + np.sin(np.arange(120) / 12 * np.pi)
    result = await service.ingest("cpu", ts, y)
    assert result.refit_scheduled is True
    assert await queue.schedule("cpu") is False  # already queued on the stream
    other = RedisBuffer.from_settings(settings.buffer)

    async def band_stored() -> bool:
        state = await other.get_state("cpu")
        return state is not None and state.band is not None

    async with background_worker(settings, service.run, queue, "replica-1"):
        await _until(band_stored, 60)
    assert await queue.pending() == 0
    await other.close()
    await queue.close()
    await service.close()
