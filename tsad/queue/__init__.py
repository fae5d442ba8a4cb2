"""Refit work queues: how a series' refit, asked for on the hot path, reaches a worker.

``RefitQueue`` (``tsad.types``) is the seam. ``MemoryRefitQueue`` is the in-process
one (the embedded default); ``RedisRefitQueue`` (a Redis Stream with a consumer
group) shares the work between every API replica and ``tsad worker`` process. Both
are consumed by the same loop (``tsad.queue.consumer``) and keep a job queued or in
progress at most once, so a series is never fitted twice at once.
"""

from __future__ import annotations

from tsad.queue.memory import MemoryRefitQueue
from tsad.settings import Settings
from tsad.types import Entry, RefitQueue


def make_refit_queue(settings: Settings) -> RefitQueue:
    """Redis when ``TSAD_REDIS_URL`` is set (shared by all processes), in-process otherwise."""
    if settings.buffer.redis_url:
        from tsad.queue.redis import RedisRefitQueue

        redis_queue: RefitQueue = RedisRefitQueue.from_settings(settings)
        return redis_queue
    return MemoryRefitQueue(settings.worker)


__all__ = ["Entry", "MemoryRefitQueue", "RefitQueue", "make_refit_queue"]
