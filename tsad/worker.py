"""``tsad worker``: the cold path as its own process, consuming the refit queue.

Each loop reclaims entries a dead worker left idle, claims new ones, runs the
refit while heartbeating the entry (so a slow fit is not mistaken for a dead
worker), then acks. Redis outages pause the loop with backoff; a refit that
fails for a reason retrying cannot fix is logged and acked, so one bad series
cannot wedge the queue. SIGTERM/SIGINT finish the refit in hand, then stop.

A global model fit (``tsad.global_fit`` entry: minutes) runs as a task beside
the loop, heartbeating like any refit, so per-series refits keep flowing; on
stop it is cancelled unacked, and another worker reclaims the entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from tsad.errors import BackendError, BufferUnavailable
from tsad.global_fit import parse_entry
from tsad.queue import RefitQueue, make_refit_queue
from tsad.settings import Settings

log = logging.getLogger("tsad.worker")

Refit = Callable[[str], Awaitable[object]]


def default_consumer_name() -> str:
    """Unique per process and readable in XINFO CONSUMERS: host-pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


async def run_worker(
    settings: Settings,
    stop_event: asyncio.Event,
    consumer_name: str | None = None,
    *,
    refit: Refit | None = None,
    queue: RefitQueue | None = None,
) -> int:
    """Consume refits until ``stop_event`` is set; returns how many refits were acked.

    Without ``refit`` a ``TsadService`` is built from ``settings`` and its ``refit``
    used; without ``queue`` the queue of ``settings`` (Redis when configured).
    """
    consumer = consumer_name or default_consumer_name()
    own_queue = queue is None
    work_queue = queue if queue is not None else make_refit_queue(settings)
    closers: list[Callable[[], Awaitable[None]]] = []
    if refit is None:
        from tsad.service import TsadService

        service = TsadService(settings, scheduler=work_queue)
        refit = service.refit
        closers.append(service.close)
    if own_queue:
        closers.append(work_queue.close)
    cfg = settings.worker
    idle_ms = int(cfg.reclaim_idle_s * 1000)
    done, backoff, next_reclaim = 0, 0.1, 0.0
    long_running: set[asyncio.Task[None]] = set()
    log.info("worker %s started", consumer)
    try:
        while not stop_event.is_set():
            try:
                entries: list[tuple[str, str]] = []
                if time.monotonic() >= next_reclaim:
                    entries = await work_queue.reclaim(consumer, idle_ms)
                    next_reclaim = time.monotonic() + cfg.reclaim_idle_s / 4
                if not entries:
                    entries = await work_queue.claim(consumer, count=1, block_ms=cfg.block_ms)
                for entry_id, series_id in entries:
                    job = _refit_one(work_queue, refit, consumer, entry_id, series_id, idle_ms)
                    if parse_entry(series_id) is not None:
                        task = asyncio.create_task(job, name=f"tsad-{series_id}")
                        long_running.add(task)
                        task.add_done_callback(_finished(long_running))
                    else:
                        await job
                    done += 1
                backoff = 0.1
            except BackendError as exc:
                # the entry in hand stays pending: reclaimed (by us or another) once Redis is back
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
        for close in closers:
            with contextlib.suppress(Exception):
                await close()
        log.info("worker %s stopped after %d refits", consumer, done)
    return done


def _finished(running: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    """Done-callback of a background refit: forget it, and log what it raised (a Redis
    outage leaves its entry pending, to be reclaimed)."""

    def done(task: asyncio.Task[None]) -> None:
        running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background refit %s stopped: %s", task.get_name(), task.exception())

    return done


async def _refit_one(
    queue: RefitQueue, refit: Refit, consumer: str, entry_id: str, series_id: str, idle_ms: int
) -> None:
    heartbeat = asyncio.create_task(_heartbeat(queue, consumer, entry_id, idle_ms / 3000))
    try:
        await refit(series_id)
    except BufferUnavailable:
        raise
    except Exception:
        log.exception("refit of series %s failed; dropping the entry", series_id)
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
    await queue.ack(entry_id, series_id)


async def _heartbeat(queue: RefitQueue, consumer: str, entry_id: str, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        with contextlib.suppress(BufferUnavailable):
            await queue.touch(consumer, entry_id)


@contextlib.asynccontextmanager
async def background_worker(
    settings: Settings, refit: Refit, queue: RefitQueue, consumer_name: str | None = None
) -> AsyncIterator[asyncio.Task[int]]:
    """Run the worker loop as a task of this process (``tsad serve`` with Redis: every
    replica also consumes the shared queue); on exit it finishes the refit in hand."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_worker(settings, stop, consumer_name, refit=refit, queue=queue), name="tsad-worker"
    )
    try:
        yield task
    finally:
        stop.set()
        await task


def main(settings: Settings | None = None, consumer_name: str | None = None) -> int:
    """Blocking entry point for ``tsad worker``: runs until SIGTERM or SIGINT."""
    resolved = settings or Settings.from_env()

    async def _run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await run_worker(resolved, stop, consumer_name)

    return asyncio.run(_run())


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    main()
