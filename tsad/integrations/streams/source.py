"""The seam between ``tsad consume`` and a stream: ``StreamSource``.

A source hands out ``Delivery``s and is told, per delivery, either ``ack`` (its
points are in the buffer) or ``dead_letter`` (it can never be stored: kept aside
with the reason, and acknowledged so it is not redelivered). Anything neither acked
nor dead-lettered is redelivered — after a crash, to this or another consumer of
the same group — so delivery is at least once; appends dedupe by timestamp, so a
redelivered message stores nothing twice.

Sources raise ``UpstreamUnavailable`` while their server is unreachable; the
consumer backs off and tries again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Delivery:
    """One message: an id for logs, its body, and whatever the source needs to ack it."""

    id: str
    data: bytes
    handle: Any = None


class StreamSource(Protocol):
    """A stream read by a named consumer group (Redis group, JetStream durable)."""

    description: str

    async def open(self) -> None:
        """Connect, and create the consumer group if the stream allows it."""

    async def fetch(self, max_messages: int, wait_s: float) -> list[Delivery]:
        """Up to ``max_messages``, waiting at most ``wait_s`` for the first; [] if none."""

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """These messages are stored: never deliver them again."""

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """This message cannot be stored: keep it aside with ``reason``, and ack it."""

    async def close(self) -> None: ...


def make_source(
    url: str,
    *,
    stream: str,
    group: str,
    consumer: str,
    dead_letter: str | None = None,
    subject: str | None = None,
) -> StreamSource:
    """The source for a URL: ``redis://``/``rediss://`` or ``nats://``/``tls://``."""
    from tsad.errors import ConfigError

    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("redis", "rediss", "unix"):
        from tsad.integrations.streams.redis_streams import RedisStreamSource

        if subject:
            raise ConfigError(
                "--subject is for NATS JetStream; a Redis stream is named by --stream"
            )
        return RedisStreamSource(url, stream, group, consumer, dead_letter=dead_letter)
    if scheme in ("nats", "tls"):
        from tsad.integrations.streams.jetstream import JetStreamSource

        return JetStreamSource(url, stream, group, subject=subject, dead_letter=dead_letter)
    raise ConfigError(
        f"cannot consume from {url!r}: give a redis://HOST:PORT/DB (Redis Streams) or "
        "nats://HOST:PORT (NATS JetStream) URL"
    )
