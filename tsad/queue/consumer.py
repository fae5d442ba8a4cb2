"""The worker loop over a ``RefitQueue``: the same loop whether it runs as
``tsad worker`` (a process of its own), inside each ``tsad serve`` replica with
Redis, or over the in-process queue of the embedded default.

Each round reclaims entries a dead worker left idle, claims new ones, runs the
job while heartbeating the entry (so a slow fit is not mistaken for a dead
worker), then acks. Store outages pause the loop with backoff; a job that fails
for a reason retrying cannot fix is logged and acked, so one bad series cannot
wedge the queue. A global fit (minutes) runs as a task beside the loop,
heartbeating like any job, so per-series refits keep flowing; on stop it is
cancelled unacked, and another worker reclaims the entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from tsad.errors import BackendError, BufferUnavailable
from tsad.settings import WorkerSettings
from tsad.types import Entry, GlobalFitJob, RefitJob, RefitQueue, RunJob

log = logging.getLogger("tsad.worker")


async def consume(
    queue: RefitQueue,
    run: RunJob,
    settings: WorkerSettings,
    stop_event: asyncio.Event,
    consumer: str,
) -> int:
    """Work ``queue`` with ``run`` until ``stop_event`` is set; returns how many jobs were
    acked or handed to a task."""
    idle_ms = int(settings.reclaim_idle_s * 1000)
    done, backoff, next_reclaim = 0, 0.1, 0.0
    long_running: set[asyncio.Task[None]] = set()
    try:
        while not stop_event.is_set():
            try:
                entries: list[Entry] = []
                if time.monotonic() >= next_reclaim:
                    entries = await queue.reclaim(consumer, idle_ms)
                    next_reclaim = time.monotonic() + settings.reclaim_idle_s / 4
                if not entries:
                    entries = await queue.claim(consumer, count=1, block_ms=settings.block_ms)
                for entry_id, job in entries:
                    work = _run_one(queue, run, consumer, entry_id, job, idle_ms)
                    if isinstance(job, GlobalFitJob):
                        name = f"tsad-global-{job.kind}-{job.step_ms}"
                        task = asyncio.create_task(work, name=name)
                        long_running.add(task)
                        task.add_done_callback(_finished(long_running))
                    else:
                        await work
                    done += 1
                backoff = 0.1
            except BackendError as exc:
                # the entry in hand stays pending: reclaimed (by us or another) once back
                log.warning("queue unavailable, retrying in %.1fs: %s", backoff, exc.detail)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(backoff):
                        await stop_event.wait()
                backoff = min(backoff * 2, 5.0)
    finally:
        for task in list(long_running):
            task.cancel()
        if long_running:
            await asyncio.wait(set(long_running), timeout=10)
    return done


def _finished(running: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    """Done-callback of a background job: forget it, and log what it raised (a store
    outage leaves its entry pending, to be reclaimed)."""

    def done(task: asyncio.Task[None]) -> None:
        running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background refit %s stopped: %s", task.get_name(), task.exception())

    return done


async def _run_one(
    queue: RefitQueue, run: RunJob, consumer: str, entry_id: str, job: RefitJob, idle_ms: int
) -> None:
    heartbeat = asyncio.create_task(_heartbeat(queue, consumer, entry_id, idle_ms / 3000))
    try:
        await run(job)
    except BufferUnavailable:
        raise
    except Exception:
        log.exception("refit job %s failed; dropping the entry", job)
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
    await queue.ack(entry_id, job)


async def _heartbeat(queue: RefitQueue, consumer: str, entry_id: str, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        with contextlib.suppress(BufferUnavailable):
            await queue.touch(consumer, entry_id)


class InProcessConsumer:
    """``start``/``stop`` of a queue: the loop above as a task of this process.
    ``graceful`` stops finish the job in hand (a shared queue: Redis); otherwise the
    task is cancelled (in-process work has no one to hand over to)."""

    def __init__(self, settings: WorkerSettings, *, graceful: bool) -> None:
        self.settings = settings
        self.graceful = graceful
        self._task: asyncio.Task[int] | None = None
        self._stop = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, queue: RefitQueue, run: RunJob, consumer: str) -> None:
        if self.running:
            return
        self._stop = asyncio.Event()
        loop = consume(queue, run, self.settings, self._stop, consumer)
        self._task = asyncio.create_task(loop, name=f"tsad-refit-{consumer}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        if not self.graceful:
            # cancel until it takes: a cancellation can be swallowed by library code
            # (3.11's wait_for) when it lands just as an awaited job completes
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.5)
        with contextlib.suppress(asyncio.CancelledError):
            await task
