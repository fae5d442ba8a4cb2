"""``tsad worker``: the cold path as its own process, consuming the refit queue
with the worker loop of ``tsad.queue.consumer`` (reclaim, claim, heartbeat, ack).
SIGTERM/SIGINT finish the refit in hand, then stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

from tsad.queue import RefitQueue, make_refit_queue
from tsad.queue.consumer import consume
from tsad.settings import Settings
from tsad.types import RunJob

log = logging.getLogger("tsad.worker")


def default_consumer_name() -> str:
    """Unique per process and readable in XINFO CONSUMERS: host-pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


async def run_worker(
    settings: Settings,
    stop_event: asyncio.Event,
    consumer_name: str | None = None,
    *,
    refit: RunJob | None = None,
    queue: RefitQueue | None = None,
) -> int:
    """Consume refit jobs until ``stop_event`` is set; returns how many were acked.

    Without ``refit`` a ``TsadService`` is built from ``settings`` and its ``run``
    used; without ``queue`` the queue of ``settings`` (Redis when configured).
    """
    consumer = consumer_name or default_consumer_name()
    own_queue = queue is None
    work_queue = queue if queue is not None else make_refit_queue(settings)
    closers: list[Callable[[], Awaitable[None]]] = []
    run = refit
    if run is None:
        from tsad.service import TsadService

        # this loop consumes the queue: the service must not start a second consumer
        service = TsadService(settings, scheduler=work_queue, consume=False)
        run = service.run
        closers.append(service.close)
    if own_queue:
        closers.append(work_queue.close)
    log.info("worker %s started", consumer)
    done = 0
    try:
        done = await consume(work_queue, run, settings.worker, stop_event, consumer)
    finally:
        for close in closers:
            with contextlib.suppress(Exception):
                await close()
        log.info("worker %s stopped after %d refits", consumer, done)
    return done


@contextlib.asynccontextmanager
async def background_worker(
    settings: Settings, run: RunJob, queue: RefitQueue, consumer_name: str | None = None
) -> AsyncIterator[asyncio.Task[int]]:
    """Run the worker loop as a task of this process until the block ends; on exit it
    finishes the refit in hand (tests; ``tsad serve`` uses ``queue.start``)."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_worker(settings, stop, consumer_name, refit=run, queue=queue), name="tsad-worker"
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
