"""NATS JetStream as a ``StreamSource``: a durable pull consumer, explicit acks.

The stream must exist (the deployment owns its subjects, retention and replicas);
the durable consumer (``--group``, default ``tsad``) is created on first start
with explicit acks, optionally filtered to ``--subject`` (an existing one is used
as it is configured). A message not acked
within the consumer's ack wait (30 s by default) is redelivered. Bad messages are
terminated (``+TERM``: never redelivered) after being published, with a
``Tsad-Dead-Letter-Reason`` header, to the ``--dead-letter`` subject when one is
given — pick one outside the consumed stream's subjects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tsad.errors import ConfigError, UpstreamUnavailable
from tsad.integrations.streams.source import Delivery


class JetStreamSource:
    """Pulls from JetStream ``stream`` through the durable consumer ``group``."""

    def __init__(
        self,
        url: str,
        stream: str,
        group: str,
        *,
        subject: str | None = None,
        dead_letter: str | None = None,
    ) -> None:
        self.url, self.stream, self.group = url, stream, group
        self.subject, self.dead_subject = subject, dead_letter
        self.description = f"NATS JetStream stream {stream!r}, durable consumer {group!r}"
        self._nc: Any = None
        self._sub: Any = None

    async def open(self) -> None:
        try:
            import nats
        except ModuleNotFoundError:
            raise ConfigError(
                'consuming from NATS needs nats-py: pip install "tsad[streams]"'
            ) from None
        from nats.errors import NoServersError
        from nats.js.api import AckPolicy, ConsumerConfig
        from nats.js.errors import NotFoundError

        try:
            self._nc = await nats.connect(
                self.url, connect_timeout=5, max_reconnect_attempts=-1, reconnect_time_wait=1
            )
        except (NoServersError, OSError, TimeoutError) as exc:
            raise UpstreamUnavailable(f"NATS at {self.url} is unreachable: {exc}") from None
        js = self._nc.jetstream()
        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            raise ConfigError(
                f"JetStream has no stream {self.stream!r}; create it (nats stream add) first"
            ) from None
        try:  # an existing durable keeps its own settings (ack wait, max deliveries...)
            await js.consumer_info(self.stream, self.group)
        except NotFoundError:
            config = ConsumerConfig(
                durable_name=self.group, ack_policy=AckPolicy.EXPLICIT, filter_subject=self.subject
            )
            await js.add_consumer(self.stream, config)
        self._sub = await js.pull_subscribe_bind(durable=self.group, stream=self.stream)

    async def fetch(self, max_messages: int, wait_s: float) -> list[Delivery]:
        from nats.errors import ConnectionClosedError
        from nats.errors import TimeoutError as NatsTimeout

        try:
            msgs = await self._sub.fetch(max_messages, timeout=wait_s)
        except (NatsTimeout, TimeoutError):
            return []
        except ConnectionClosedError as exc:
            raise UpstreamUnavailable(f"NATS at {self.url} closed the connection: {exc}") from None
        return [Delivery(_msg_id(m), bytes(m.data), m) for m in msgs]

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        from nats.errors import Error as NatsError

        try:
            for delivery in deliveries:
                await delivery.handle.ack()
        except NatsError as exc:  # unacked ones are redelivered: at least once
            raise UpstreamUnavailable(f"NATS at {self.url}: cannot ack: {exc}") from None

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        from nats.errors import Error as NatsError

        try:
            if self.dead_subject:
                headers = {"Tsad-Dead-Letter-Reason": reason[:1000], "Tsad-Message-Id": delivery.id}
                await self._nc.publish(self.dead_subject, delivery.data, headers=headers)
            await delivery.handle.term()
        except NatsError as exc:
            raise UpstreamUnavailable(f"NATS at {self.url}: cannot dead-letter: {exc}") from None

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.close()
            self._nc = None


def _msg_id(msg: Any) -> str:
    try:
        meta = msg.metadata
        return f"{meta.stream}:{meta.sequence.stream}"
    except Exception:  # not a JetStream message (no reply subject): still log something
        return str(msg.subject)
