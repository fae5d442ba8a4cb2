"""In-process refit scheduling: the embedded default's answer to "the stored band
ran out". The hot path calls ``schedule`` and returns at once; a background task
runs the refits one series at a time, never twice at once for one series."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("tsad.refit")


class LocalRefitScheduler:
    """A de-duplicating queue of series ids consumed by ``concurrency`` tasks."""

    def __init__(self, refit: Callable[[str], Awaitable[object]], concurrency: int = 1) -> None:
        self._refit = refit
        self._concurrency = concurrency
        self._pending: set[str] = set()
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def schedule(self, series_id: str) -> bool:
        """Queue a refit unless one is already pending; never blocks."""
        if series_id in self._pending:
            return False
        self._pending.add(series_id)
        self._queue.put_nowait(series_id)
        if not self._tasks:
            self.start()
        return True

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._consume(), name=f"tsad-refit-{i}")
                for i in range(self._concurrency)
            ]

    async def _consume(self) -> None:
        while True:
            sid = await self._queue.get()
            try:
                # cleared before the fit so points arriving meanwhile can queue the next one
                self._pending.discard(sid)
                await self._refit(sid)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("refit of series %s failed", sid)
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every queued refit has finished (tests, shutdown)."""
        await self._queue.join()

    async def stop(self) -> None:
        for task in self._tasks:
            # cancel until it takes: a cancellation can be swallowed by library code
            # (3.11's wait_for) when it lands just as an awaited job completes
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.5)
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
