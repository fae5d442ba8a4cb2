"""In-process refit scheduling: the embedded default's answer to "the stored band
ran out". The hot path calls ``schedule`` and returns at once; a background task
runs the refits one series at a time, never twice at once for one series.

Entries the ``long`` predicate picks (global model fits: minutes, not
milliseconds) run as tasks of their own, so per-series refits keep flowing
meanwhile; such an entry stays pending, and is not queued twice, until it ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("tsad.refit")


class LocalRefitScheduler:
    """A de-duplicating queue of series ids consumed by ``concurrency`` tasks."""

    def __init__(
        self,
        refit: Callable[[str], Awaitable[object]],
        concurrency: int = 1,
        *,
        long: Callable[[str], bool] | None = None,
    ) -> None:
        self._refit = refit
        self._concurrency = concurrency
        self._long = long or (lambda _sid: False)
        self._pending: set[str] = set()
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._long_tasks: set[asyncio.Task[None]] = set()

    async def schedule(self, series_id: str) -> bool:
        """Queue a refit unless one is already pending; never blocks."""
        if series_id in self._pending:
            return False
        self._pending.add(series_id)
        self._queue.put_nowait(series_id)
        if not self._tasks:
            self.start()
        return True

    async def pending(self) -> int:
        """How many series wait for a refit (or are being fitted as a long entry)."""
        return len(self._pending)

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
                if self._long(sid):
                    task = asyncio.create_task(self._run_long(sid), name=f"tsad-long-{sid}")
                    self._long_tasks.add(task)
                    task.add_done_callback(self._long_tasks.discard)
                else:
                    # cleared before the fit so points arriving meanwhile can queue the next one
                    self._pending.discard(sid)
                    await self._run(sid)
            finally:
                self._queue.task_done()

    async def _run_long(self, sid: str) -> None:
        try:
            await self._run(sid)
        finally:
            self._pending.discard(sid)

    async def _run(self, sid: str) -> None:
        """One refit; a failure is logged, never raised (one series must not stop the rest)."""
        try:
            await self._refit(sid)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("refit of %s failed", sid)

    async def drain(self) -> None:
        """Wait until every queued refit, long ones included, has finished (tests)."""
        while True:
            await self._queue.join()
            if not self._long_tasks:
                return
            await asyncio.wait(set(self._long_tasks))

    async def stop(self) -> None:
        for task in [*self._tasks, *self._long_tasks]:
            # cancel until it takes: a cancellation can be swallowed by library code
            # (3.11's wait_for) when it lands just as an awaited job completes
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.5)
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
