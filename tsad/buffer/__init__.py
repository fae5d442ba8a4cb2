"""Buffers: where points and per-series state live. ``make_buffer`` picks one."""

from __future__ import annotations

from tsad.buffer.memory import MemoryBuffer
from tsad.settings import BufferSettings
from tsad.types import Buffer


def make_buffer(settings: BufferSettings) -> Buffer:
    """Redis when ``redis_url`` is set, else the embedded store or memory (``backend``)."""
    if settings.redis_url:
        from tsad.buffer.redis import RedisBuffer

        redis_buffer: Buffer = RedisBuffer.from_settings(settings)
        return redis_buffer
    if settings.backend == "embedded":
        from tsad.buffer.embedded import EmbeddedBuffer

        embedded: Buffer = EmbeddedBuffer.open(settings)
        return embedded
    return MemoryBuffer(settings)


__all__ = ["MemoryBuffer", "make_buffer"]
