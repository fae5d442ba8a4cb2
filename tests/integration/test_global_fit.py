"""The global neural model is retrained on every stored series of its kind, off the
request path: queued after a bootstrap fit, run once by whoever consumes the refit
queue (in process, or a ``tsad worker`` on Redis), then the series are refitted."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests import redis_server as fixtures
from tsad.models.neural_spec import make_spec
from tsad.models.neural_store import ModelStore
from tsad.queue.memory import MemoryRefitQueue
from tsad.queue.redis import RedisRefitQueue
from tsad.service import TsadService
from tsad.settings import BufferSettings, ModelSettings, Settings, WorkerSettings
from tsad.types import GlobalFitJob, RefitJob
from tsad.worker import run_worker

pytestmark = pytest.mark.slow

redis_session = fixtures.redis_session
redis_url = fixtures.redis_url

HOUR = 3_600_000
T0 = 1_700_000_000_000
N = 300  # points per series: more than NHITS's input window (96) + horizon (48)


def seasonal(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(N)
    y = 20 + 4 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.3, N)
    return (T0 + t * HOUR).astype(np.int64), y


def model_settings(model_dir: Path, every_s: float = 3_600.0) -> ModelSettings:
    return ModelSettings(
        runner="thread",
        model_dir=str(model_dir),
        neural_max_steps=3,
        neural_global_steps=4,
        neural_global_every_s=every_s,
    )


def pointer(model_dir: Path) -> dict[str, Any] | None:
    from tsad.detect.online import refit_horizon

    spec = make_spec("nhits", HOUR, refit_horizon(HOUR), max_steps=3)
    return ModelStore(model_dir).global_pointer(spec, HOUR)


async def test_a_global_fit_job_is_queued_once_and_apart_from_series(redis_url: str) -> None:
    """A GlobalFitJob is a value: equal jobs dedupe, and it never collides with a series
    id, on the in-process queue and round-tripped through the Redis Stream."""
    settings = Settings(buffer=BufferSettings(redis_url=redis_url))
    for queue in (MemoryRefitQueue(), RedisRefitQueue.from_settings(settings)):
        job = GlobalFitJob("nhits", HOUR)
        assert await queue.schedule(job) is True
        assert await queue.schedule(GlobalFitJob("nhits", HOUR)) is False
        assert await queue.schedule("nhits") is True  # a series named like the kind
        claimed = await queue.claim("w", count=10, block_ms=100)
        assert [j for _, j in claimed] == [job, "nhits"]
        for entry_id, j in claimed:
            await queue.ack(entry_id, j)
        assert await queue.schedule(job) is True  # acked: it may be queued again
        [(entry_id, j)] = await queue.claim("w", count=10, block_ms=100)
        await queue.ack(entry_id, j)
        await queue.close()


async def test_bootstrap_is_replaced_by_a_model_trained_on_every_series(tmp_path: Path) -> None:
    """In process: the first fit bootstraps, the queued global fit trains on all three
    series, and every series ends with a band from the global nhits model."""
    service = TsadService(Settings(models=model_settings(tmp_path)))
    try:
        for seed, sid in enumerate(("a", "b", "c")):
            await service.ingest(sid, *seasonal(seed), model="nhits")
        scheduler = service.scheduler
        assert isinstance(scheduler, MemoryRefitQueue)
        await asyncio.wait_for(scheduler.drain(), 300)
        found = pointer(tmp_path)
        assert found is not None
        assert found["bootstrap"] is False and found["series"] == 3
        meta = (await service.series("a")).meta
        assert meta.model_used == "nhits" and meta.degraded is False
        # fresh now: asking again does not retrain
        assert await service.fit_global("nhits", HOUR) is None
        assert pointer(tmp_path) == found
    finally:
        await service.close()


async def test_global_fit_is_off_when_the_interval_is_zero(tmp_path: Path) -> None:
    """``neural_global_every_s = 0`` keeps the bootstrap model and queues nothing."""
    service = TsadService(Settings(models=model_settings(tmp_path, every_s=0)))
    try:
        await service.ingest("a", *seasonal(0), model="nhits")
        scheduler = service.scheduler
        assert isinstance(scheduler, MemoryRefitQueue)
        await asyncio.wait_for(scheduler.drain(), 300)
        found = pointer(tmp_path)
        assert found is not None and found["bootstrap"] is True
    finally:
        await service.close()


async def test_a_redis_worker_runs_the_global_fit_once(redis_url: str, tmp_path: Path) -> None:
    """On Redis, the global entry travels the shared refit queue and a worker runs it."""
    settings = Settings(
        buffer=BufferSettings(redis_url=redis_url),
        models=model_settings(tmp_path),
        worker=WorkerSettings(block_ms=50),
    )
    queue = RedisRefitQueue.from_settings(settings)
    service = TsadService(settings, scheduler=queue)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, stop, "w1", refit=service.run, queue=queue))
    try:
        for seed, sid in enumerate(("gf-a", "gf-b")):
            await service.buffer.delete(sid)
            await service.ingest(sid, *seasonal(seed), model="nhits")

        async def trained() -> bool:
            found = pointer(tmp_path)
            return found is not None and found["bootstrap"] is False

        deadline = asyncio.get_running_loop().time() + 300
        while not await trained():
            assert asyncio.get_running_loop().time() < deadline, "no global fit in time"
            await asyncio.sleep(0.1)
        found = pointer(tmp_path)
        assert found is not None and found["series"] == 2
    finally:
        stop.set()
        await asyncio.wait_for(worker, 300)
        for sid in ("gf-a", "gf-b"):
            await service.buffer.delete(sid)
        await service.close()
        await queue.close()


def blocking_refit(release: asyncio.Event, done: list[RefitJob]) -> Any:
    """A refit that records each job, holding global fits until ``release``."""

    async def refit(job: RefitJob) -> None:
        if isinstance(job, GlobalFitJob):
            await release.wait()
        done.append(job)

    return refit


async def test_in_process_refits_keep_flowing_while_a_global_fit_runs() -> None:
    """The in-process queue runs a global fit beside the series refits, not in front."""
    release = asyncio.Event()
    done: list[RefitJob] = []
    refit = blocking_refit(release, done)

    scheduler = MemoryRefitQueue(WorkerSettings(block_ms=50))
    await scheduler.start(refit)
    try:
        assert await scheduler.schedule(GlobalFitJob("nhits", HOUR))
        assert await scheduler.schedule("cpu")
        for _ in range(100):
            if done:
                break
            await asyncio.sleep(0.01)
        assert done == ["cpu"], "the series refit waited for the global fit"
        # still running: asking again does not queue a second global fit
        assert await scheduler.schedule(GlobalFitJob("nhits", HOUR)) is False
        release.set()
        await asyncio.wait_for(scheduler.drain(), 5)
        assert done == ["cpu", GlobalFitJob("nhits", HOUR)]
    finally:
        await scheduler.stop()


async def test_a_worker_refits_series_while_a_global_fit_runs(redis_url: str) -> None:
    """run_worker claims series refits while a global entry is still being fitted,
    and acks the global entry only when its fit ends."""
    settings = Settings(
        buffer=BufferSettings(redis_url=redis_url), worker=WorkerSettings(block_ms=50)
    )
    queue = RedisRefitQueue.from_settings(settings)
    release = asyncio.Event()
    done: list[RefitJob] = []
    refit = blocking_refit(release, done)

    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, stop, "w-long", refit=refit, queue=queue))
    try:
        assert await queue.schedule(GlobalFitJob("patchtst", HOUR))
        assert await queue.schedule("bg-series")
        for _ in range(500):
            if done:
                break
            await asyncio.sleep(0.01)
        assert done == ["bg-series"]
        assert await queue.schedule(GlobalFitJob("patchtst", HOUR)) is False  # still pending
        release.set()
        for _ in range(500):
            if len(done) == 2:
                break
            await asyncio.sleep(0.01)
        assert done == ["bg-series", GlobalFitJob("patchtst", HOUR)]
        for _ in range(500):
            if await queue.schedule(GlobalFitJob("patchtst", HOUR)):
                break  # acked: it may be queued again
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the global entry was never acked")
        # leave the shared stream empty: let this worker take the entry just queued
        for _ in range(500):
            if len(done) == 3 and await queue.pending() == 0:
                break
            await asyncio.sleep(0.01)
        assert len(done) == 3
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)
        await queue.close()
