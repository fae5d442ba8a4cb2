"""The in-process refit queue: the embedded default's answer to "the stored band ran
out", with ``RefitQueue`` semantics and no Redis.

``start(run)`` consumes it with the worker loop (``tsad.queue.consumer``) as a task
of this process: one job at a time, global fits beside it, a job never queued
twice while queued or running. Entries live only as long as this process, so
there is nothing to reclaim from another one.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque

from tsad.queue.consumer import InProcessConsumer
from tsad.settings import WorkerSettings
from tsad.types import Entry, RefitJob, RunJob


class MemoryRefitQueue:
    """A FIFO of jobs with a per-job pending mark and a pending-entries list."""

    def __init__(self, settings: WorkerSettings | None = None) -> None:
        self.settings = settings or WorkerSettings()
        self._ttl_s = self.settings.pending_ttl_s
        self._marks: dict[RefitJob, float] = {}  # job → when its mark expires
        self._ready: deque[Entry] = deque()
        self._taken: dict[str, tuple[RefitJob, str, float]] = {}  # entry → (job, consumer, seen)
        self._ids = itertools.count(1)
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._consumer = InProcessConsumer(self.settings, graceful=False)

    async def schedule(self, job: RefitJob) -> bool:
        now = time.monotonic()
        if self._marks.get(job, 0.0) > now:
            return False
        self._marks[job] = now + self._ttl_s
        self._ready.append((f"{next(self._ids)}-0", job))
        self._idle.clear()
        self._wakeup.set()
        return True

    async def pending(self) -> int:
        return len(self._ready) + len(self._taken)

    async def start(self, run: RunJob) -> None:
        self._consumer.start(self, run, "local")

    async def stop(self) -> None:
        await self._consumer.stop()

    async def drain(self) -> None:
        """Wait until every queued job, global fits included, has been acked (tests)."""
        await self._idle.wait()

    async def claim(self, consumer: str, count: int = 1, block_ms: int = 1_000) -> list[Entry]:
        if not self._ready and block_ms > 0:
            self._wakeup.clear()
            try:
                async with asyncio.timeout(block_ms / 1000):
                    await self._wakeup.wait()
            except TimeoutError:
                return []
        out: list[Entry] = []
        while self._ready and len(out) < count:
            entry_id, job = self._ready.popleft()
            self._taken[entry_id] = (job, consumer, time.monotonic())
            out.append((entry_id, job))
        return out

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int = 10) -> list[Entry]:
        now = time.monotonic()
        out: list[Entry] = []
        for entry_id, (job, _, seen) in list(self._taken.items()):
            if len(out) >= count:
                break
            if (now - seen) * 1000 >= min_idle_ms:
                self._taken[entry_id] = (job, consumer, now)
                out.append((entry_id, job))
        return out

    async def touch(self, consumer: str, entry_id: str) -> None:
        taken = self._taken.get(entry_id)
        if taken is not None:
            self._taken[entry_id] = (taken[0], consumer, time.monotonic())

    async def ack(self, entry_id: str, job: RefitJob) -> None:
        self._taken.pop(entry_id, None)
        self._marks.pop(job, None)
        if not self._ready and not self._taken:
            self._idle.set()

    async def close(self) -> None:
        await self.stop()
