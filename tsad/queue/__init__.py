"""Refit work queues: how a series' refit, asked for on the hot path, reaches a worker.

``RefitQueue`` is the seam. ``RedisRefitQueue`` (a Redis Stream with a consumer
group) shares the work between every API replica and ``tsad worker`` process;
``MemoryRefitQueue`` gives the same semantics inside one process. Both keep a
series queued or in progress at most once, so it is never fitted twice at once.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from tsad.queue.memory import MemoryRefitQueue
from tsad.settings import Settings

Entry = tuple[str, str]
"""A claimed piece of work: (entry id, series id)."""


@runtime_checkable
class RefitQueue(Protocol):
    """Producers ``schedule``; consumers ``claim``, ``touch`` while working, then ``ack``.

    An entry claimed but not acked (its worker died) becomes claimable again through
    ``reclaim`` once idle for ``min_idle_ms``; ``touch`` resets that idle time so a
    slow but living worker keeps its entry.
    """

    async def schedule(self, series_id: str) -> bool:
        """Queue a refit; False if one is already queued or running for this series."""
        ...

    async def claim(self, consumer: str, count: int = 1, block_ms: int = 1_000) -> list[Entry]:
        """Up to ``count`` new entries for ``consumer``, waiting at most ``block_ms``."""
        ...

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int = 10) -> list[Entry]:
        """Take over entries other consumers left idle for ``min_idle_ms`` or more."""
        ...

    async def touch(self, consumer: str, entry_id: str) -> None:
        """Heartbeat: the entry is still being worked on by ``consumer``."""
        ...

    async def ack(self, entry_id: str, series_id: str) -> None:
        """The refit is done (or given up): forget the entry, let the series queue again."""
        ...

    async def close(self) -> None: ...


def make_refit_queue(settings: Settings) -> RefitQueue:
    """Redis when ``TSAD_REDIS_URL`` is set (shared by all processes), in-process otherwise."""
    if settings.buffer.redis_url:
        from tsad.queue.redis import RedisRefitQueue

        redis_queue: RefitQueue = RedisRefitQueue.from_settings(settings)
        return redis_queue
    return MemoryRefitQueue(pending_ttl_s=settings.worker.pending_ttl_s)


__all__ = ["Entry", "MemoryRefitQueue", "RefitQueue", "make_refit_queue"]
