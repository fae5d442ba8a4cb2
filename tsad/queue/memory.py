"""The in-process refit queue: ``RefitQueue`` semantics without Redis.

For the embedded default and for tests of the worker loop; entries live only as
long as this process, so there is nothing to reclaim from another process.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque

_Entry = tuple[str, str]


class MemoryRefitQueue:
    """A FIFO of series ids with a per-series pending mark and a pending-entries list."""

    def __init__(self, pending_ttl_s: float = 3_600) -> None:
        self._ttl_s = pending_ttl_s
        self._marks: dict[str, float] = {}  # series → when its mark expires
        self._ready: deque[_Entry] = deque()
        self._taken: dict[str, tuple[str, str, float]] = {}  # entry → (series, consumer, seen)
        self._ids = itertools.count(1)
        self._wakeup = asyncio.Event()

    async def schedule(self, series_id: str) -> bool:
        now = time.monotonic()
        if self._marks.get(series_id, 0.0) > now:
            return False
        self._marks[series_id] = now + self._ttl_s
        self._ready.append((f"{next(self._ids)}-0", series_id))
        self._wakeup.set()
        return True

    async def claim(self, consumer: str, count: int = 1, block_ms: int = 1_000) -> list[_Entry]:
        if not self._ready and block_ms > 0:
            self._wakeup.clear()
            try:
                async with asyncio.timeout(block_ms / 1000):
                    await self._wakeup.wait()
            except TimeoutError:
                return []
        out: list[_Entry] = []
        while self._ready and len(out) < count:
            entry_id, sid = self._ready.popleft()
            self._taken[entry_id] = (sid, consumer, time.monotonic())
            out.append((entry_id, sid))
        return out

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int = 10) -> list[_Entry]:
        now = time.monotonic()
        out: list[_Entry] = []
        for entry_id, (sid, _, seen) in list(self._taken.items()):
            if len(out) >= count:
                break
            if (now - seen) * 1000 >= min_idle_ms:
                self._taken[entry_id] = (sid, consumer, now)
                out.append((entry_id, sid))
        return out

    async def touch(self, consumer: str, entry_id: str) -> None:
        taken = self._taken.get(entry_id)
        if taken is not None:
            self._taken[entry_id] = (taken[0], consumer, time.monotonic())

    async def ack(self, entry_id: str, series_id: str) -> None:
        self._taken.pop(entry_id, None)
        self._marks.pop(series_id, None)

    async def close(self) -> None:
        return None
