"""Redis Streams as a ``StreamSource``: one consumer group, ``XACK`` after the write.

Entries carry either a ``data`` field (a JSON or line-protocol body) or the point
itself as fields: ``XADD metrics * series_id web.rps timestamp 1704067200 value 3.5``.
On start the consumer first re-reads its own pending entries (a previous run with
the same ``--consumer`` name died before acking them); entries another consumer
left pending longer than ``reclaim_idle_s`` are claimed (``XAUTOCLAIM``). Bad
entries are copied to the dead-letter stream (default ``<stream>:dead``, capped at
about 10,000 entries) with the reason, then acked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeout

from tsad.errors import UpstreamUnavailable
from tsad.integrations.streams.source import Delivery

DEAD_LETTER_MAXLEN = 10_000


class RedisStreamSource:
    """Reads ``stream`` as consumer ``consumer`` of ``group`` (created at the start)."""

    def __init__(
        self,
        url: str,
        stream: str,
        group: str,
        consumer: str,
        *,
        dead_letter: str | None = None,
        reclaim_idle_s: float = 60.0,
    ) -> None:
        self.url, self.stream, self.group, self.consumer = url, stream, group, consumer
        self.dead_stream = dead_letter or f"{stream}:dead"
        self.reclaim_idle_ms = int(reclaim_idle_s * 1000)
        self.description = f"Redis stream {stream!r}, group {group!r}, consumer {consumer!r}"
        self._client: aioredis.Redis | None = None
        self._own_pending = True  # first: what this consumer name left unacked
        self._next_reclaim = 0.0

    @property
    def client(self) -> aioredis.Redis:
        if self._client is None:
            self._client = aioredis.Redis.from_url(self.url, socket_timeout=10)
        return self._client

    async def open(self) -> None:
        try:
            await self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        except (RedisConnectionError, RedisTimeout, OSError) as exc:
            raise UpstreamUnavailable(f"Redis at {self.url} is unreachable: {exc}") from None

    async def fetch(self, max_messages: int, wait_s: float) -> list[Delivery]:
        try:
            if self._own_pending:
                entries = await self._read("0", max_messages, None)
                if entries:
                    return entries
                self._own_pending = False
            if time.monotonic() >= self._next_reclaim:
                self._next_reclaim = time.monotonic() + max(self.reclaim_idle_ms / 4000, 1.0)
                claimed: Any = await self.client.xautoclaim(
                    self.stream, self.group, self.consumer, self.reclaim_idle_ms, "0-0",
                    count=max_messages,
                )  # fmt: skip
                if claimed[1]:
                    return [_delivery(i, f) for i, f in claimed[1] if f is not None]
            return await self._read(">", max_messages, max(1, int(wait_s * 1000)))
        except (RedisConnectionError, RedisTimeout, OSError) as exc:
            raise UpstreamUnavailable(f"Redis at {self.url} is unreachable: {exc}") from None

    async def _read(self, start: str, count: int, block_ms: int | None) -> list[Delivery]:
        reply: Any = await self.client.xreadgroup(
            self.group, self.consumer, {self.stream: start}, count=count, block=block_ms
        )
        if not reply:
            return []
        return [_delivery(i, f) for i, f in reply[0][1] if f]

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        try:
            await self.client.xack(self.stream, self.group, *(d.id for d in deliveries))
        except (RedisConnectionError, RedisTimeout, OSError) as exc:
            raise UpstreamUnavailable(f"Redis at {self.url} is unreachable: {exc}") from None

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.xadd(
                    self.dead_stream,
                    {"data": delivery.data, "reason": reason, "id": delivery.id},
                    maxlen=DEAD_LETTER_MAXLEN,
                    approximate=True,
                )
                pipe.xack(self.stream, self.group, delivery.id)
                await pipe.execute()
        except (RedisConnectionError, RedisTimeout, OSError) as exc:
            raise UpstreamUnavailable(f"Redis at {self.url} is unreachable: {exc}") from None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _delivery(entry_id: Any, fields: dict[Any, Any]) -> Delivery:
    """An entry's body: its ``data`` field, or its fields as one JSON point."""
    eid = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    data = fields.get(b"data")
    if data is None:
        point = {}
        for key, raw in fields.items():
            name = key.decode(errors="replace") if isinstance(key, bytes) else str(key)
            text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
            point[name] = _number(text) if name in ("timestamp", "value") else text
        data = json.dumps(point).encode()
    return Delivery(eid, bytes(data))


def _number(text: str) -> float | str:
    """A timestamp or value field: a number when it reads as one (else an RFC 3339 text)."""
    try:
        return float(text)
    except ValueError:
        return text
