"""`tsad consume` from NATS JetStream (real nats-server -js): ingest, ack, dead-letter,
redelivery of what a dead consumer never acked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from tests.nats_server import NatsServer, nats_server  # noqa: F401  (fixture)
from tsad.integrations.streams.consumer import ConsumeOptions, ConsumeStats, consume
from tsad.integrations.streams.jetstream import JetStreamSource
from tsad.service import TsadService
from tsad.settings import ModelSettings, Settings

T0 = 1_704_067_200


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Client]:  # noqa: F811
    """A client with a METRICS stream on metrics.>."""
    client = await nats.connect(nats_server.url)
    await client.jetstream().add_stream(StreamConfig(name="METRICS", subjects=["metrics.>"]))
    yield client
    await client.close()


async def consume_until(
    svc: TsadService, source: JetStreamSource, seen: int, timeout_s: float = 20
) -> ConsumeStats:
    """Consume until ``seen`` messages were acked or dead-lettered, then stop."""
    stop, stats = asyncio.Event(), ConsumeStats()
    task = asyncio.create_task(consume(svc, source, stop, ConsumeOptions(wait_s=0.2), stats))
    deadline = time.monotonic() + timeout_s
    try:
        while stats.messages + stats.dead_lettered < seen:
            assert not task.done(), task.exception()
            assert time.monotonic() < deadline, f"timed out: {stats}"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await source.close()
    return stats


def service() -> TsadService:
    return TsadService(Settings(models=ModelSettings(runner="thread")))


async def test_jetstream_messages_are_stored_acked_and_bad_ones_dead_lettered(
    nats_server: NatsServer,  # noqa: F811
    nc: Client,
) -> None:
    """JSON and line protocol land; a bad message is published to the dead-letter subject
    with its reason and terminated; the consumer has nothing left pending."""
    js = nc.jetstream()
    dead = await nc.subscribe("dead.metrics")
    await js.publish(
        "metrics.a", f'{{"series_id": "a", "points": [[{T0}, 1], [{T0 + 60}, 2]]}}'.encode()
    )
    await js.publish("metrics.b", f"mem,host=h used=3 {T0 * 10**9}".encode())
    await js.publish("metrics.c", b'{"series_id": "bad id!", "value": 1}')
    svc = service()
    source = JetStreamSource(nats_server.url, "METRICS", "tsad", dead_letter="dead.metrics")
    stats = await consume_until(svc, source, 3)
    assert (stats.messages, stats.points, stats.dead_lettered) == (2, 3, 1)
    assert (await svc.buffer.window("a")).y.tolist() == [1.0, 2.0]
    assert (await svc.buffer.window("mem_used,host=h")).y.tolist() == [3.0]
    msg = await dead.next_msg(timeout=5)
    assert msg.data == b'{"series_id": "bad id!", "value": 1}'
    assert "outside" in msg.headers["Tsad-Dead-Letter-Reason"]
    info = await js.consumer_info("METRICS", "tsad")
    assert info.num_ack_pending == 0 and info.num_pending == 0
    await svc.close()


async def test_unacked_jetstream_messages_are_redelivered(
    nats_server: NatsServer,  # noqa: F811
    nc: Client,
) -> None:
    """A consumer that fetched but never acked: after the ack wait the next one stores them."""
    js = nc.jetstream()
    config = ConsumerConfig(durable_name="tsad", ack_policy=AckPolicy.EXPLICIT, ack_wait=1)
    await js.add_consumer("METRICS", config)
    await js.publish("metrics.r", f'{{"series_id": "r", "value": 4, "timestamp": {T0}}}'.encode())
    crashed = JetStreamSource(nats_server.url, "METRICS", "tsad")
    await crashed.open()
    assert len(await crashed.fetch(10, 1)) == 1  # delivered, never acked
    await crashed.close()
    svc = service()
    stats = await consume_until(svc, JetStreamSource(nats_server.url, "METRICS", "tsad"), 1)
    assert stats.messages == 1
    assert (await svc.buffer.window("r")).y.tolist() == [4.0]
    await svc.close()


async def test_a_missing_stream_is_a_configuration_error(nats_server: NatsServer) -> None:  # noqa: F811
    """Consuming a stream JetStream does not have fails at start, naming the stream."""
    from tsad.errors import ConfigError

    source = JetStreamSource(nats_server.url, "NOPE", "tsad")
    with pytest.raises(ConfigError, match="NOPE"):
        await source.open()
    await source.close()


def test_cli_consumes_from_jetstream_and_stops_on_sigterm(nats_server: NatsServer) -> None:  # noqa: F811
    """`tsad consume nats://...` stores the stream's points; SIGTERM ends it with a summary."""
    import signal
    import subprocess
    import sys

    from tests.integration.cli_helpers import clean_env

    async def publish() -> None:
        client = await nats.connect(nats_server.url)
        js = client.jetstream()
        await js.add_stream(StreamConfig(name="CLI", subjects=["cli.>"]))
        for i in range(3):
            await js.publish("cli.web", f"web rps={i} {(T0 + i) * 10**9}".encode())
        await client.close()

    asyncio.run(publish())
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsad", "consume", nats_server.url, "--stream", "CLI"],
        env=clean_env(TSAD_RUNNER="thread", TSAD_BUFFER="memory"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    async def acked() -> bool:
        client = await nats.connect(nats_server.url)
        try:
            info = await client.jetstream().consumer_info("CLI", "tsad")
            return (
                info.num_pending == 0
                and info.num_ack_pending == 0
                and info.delivered.stream_seq == 3
            )
        except Exception:
            return False
        finally:
            await client.close()

    try:
        deadline = time.monotonic() + 60
        while not asyncio.run(acked()):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    assert "consumed 3 messages (3 points, 3 new" in out
