"""Outbound alerts: bounded queue, retries with backoff, Alertmanager v2 bodies (mock transport)."""

from __future__ import annotations

import asyncio
import json

import httpx
import numpy as np

from tsad.integrations.alerts import AlertPolicy
from tsad.integrations.outbound import ALERT_NAME, AlertmanagerNotifier, OutboundAlerts
from tsad.series import Scored

AM = "http://am.test:9093"


class Receiver:
    """A scripted Alertmanager: answers with the given statuses in turn, records bodies."""

    def __init__(self, *statuses: int, hang: asyncio.Event | None = None) -> None:
        self.statuses = list(statuses)
        self.bodies: list[list[dict]] = []
        self.hang = hang

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST" and request.url.path == "/api/v2/alerts"
        if self.hang is not None:
            await self.hang.wait()
        self.bodies.append(json.loads(request.content))
        status = self.statuses.pop(0) if self.statuses else 200
        return httpx.Response(status, json={} if status < 400 else {"error": "nope"})


def notifier(receiver: Receiver, **kwargs: object) -> AlertmanagerNotifier:
    options: dict = {"retries": 3, "backoff_s": 0.001, "transport": httpx.MockTransport(receiver)}
    options.update(kwargs)
    return AlertmanagerNotifier((AM,), **options)


async def test_alerts_are_posted_as_one_batch() -> None:
    """Queued alerts are delivered to /api/v2/alerts as a JSON list."""
    receiver = Receiver()
    n = notifier(receiver)
    assert n.submit({"labels": {"a": "1"}}) and n.submit({"labels": {"a": "2"}})
    assert await n.drain(2.0)
    await n.close()
    assert [a["labels"]["a"] for body in receiver.bodies for a in body] == ["1", "2"]
    assert n.stats.sent == 2 and n.stats.failed == 0


async def test_server_errors_are_retried_with_backoff() -> None:
    """5xx answers and 429 are retried until one succeeds."""
    receiver = Receiver(503, 429, 200)
    n = notifier(receiver)
    n.submit({"labels": {"a": "1"}})
    assert await n.drain(2.0)
    await n.close()
    assert len(receiver.bodies) == 3 and n.stats.retries == 2 and n.stats.sent == 1


async def test_refused_bodies_are_not_retried() -> None:
    """A 400 means the body is wrong: it is given up at once and counted as failed."""
    receiver = Receiver(400)
    n = notifier(receiver)
    n.submit({"labels": {}})
    assert await n.drain(2.0)
    await n.close()
    assert len(receiver.bodies) == 1 and n.stats.failed == 1 and n.stats.retries == 0


async def test_retries_are_bounded() -> None:
    """After the configured retries, the batch is dropped as failed."""
    receiver = Receiver(500, 500, 500)
    n = notifier(receiver, retries=2)
    n.submit({"labels": {}})
    assert await n.drain(2.0)
    await n.close()
    assert len(receiver.bodies) == 3 and n.stats.failed == 1 and n.stats.sent == 0


async def test_submit_never_waits_and_drops_when_full() -> None:
    """With the receiver stuck, submit returns at once; beyond the queue size alerts drop."""
    stuck = asyncio.Event()
    receiver = Receiver(hang=stuck)
    n = notifier(receiver, queue_size=2)
    results = [n.submit({"labels": {"i": str(i)}}) for i in range(5)]
    await asyncio.sleep(0.01)  # the worker takes one batch and hangs on it
    results += [n.submit({"labels": {"i": str(i)}}) for i in range(5, 8)]
    assert results.count(False) == n.stats.dropped and n.stats.dropped >= 3
    stuck.set()
    assert await n.drain(2.0)
    await n.close()


async def test_no_receivers_means_nothing_is_queued() -> None:
    """Without configured URLs, submit is a no-op and no task starts."""
    n = AlertmanagerNotifier(())
    assert not n.submit({"labels": {}}) and n.pending == 0
    await n.close()


def points(flags: str, start: int = 0) -> Scored:
    n = len(flags)
    direction = np.array([1 if c == "+" else 0 for c in flags], np.int8)
    expected = np.full(n, 10.0)
    return Scored(
        ts=(np.arange(n, dtype=np.int64) + start) * 60_000 + 1_704_067_200_000,
        value=expected + 9 * direction,
        expected=expected,
        lo=expected - 2,
        hi=expected + 2,
        is_anomaly=direction != 0,
        direction=direction,
        score=np.where(direction != 0, 0.9999, 0.2),
        severity=direction.astype(np.float64),
    )


async def test_firing_then_resolved_reach_the_receiver() -> None:
    """N of M anomalies post a firing alert; the recovery posts the same labels with endsAt."""
    receiver = Receiver()
    outbound = OutboundAlerts(
        notifier(receiver),
        AlertPolicy(n=2, m=3, recovery=2),
        external_url="http://tsad.test:8000/",
    )
    outbound.observe("cpu.load", points(".++"))
    outbound.observe("cpu.load", points("..", start=3))
    assert await outbound.notifier.drain(2.0)
    await outbound.close()
    sent = [a for body in receiver.bodies for a in body]
    assert len(sent) == 2
    firing, resolved = sent
    assert firing["labels"] == {
        "alertname": ALERT_NAME,
        "series_id": "cpu.load",
        "direction": "up",
    }
    assert firing["startsAt"] == "2024-01-01T00:02:00Z" and "endsAt" not in firing
    assert firing["annotations"]["value"] == "19" and firing["annotations"]["hi"] == "12"
    assert firing["generatorURL"] == "http://tsad.test:8000/v1/series/cpu.load"
    assert resolved["labels"] == firing["labels"]
    assert resolved["startsAt"] == firing["startsAt"]
    assert resolved["endsAt"] == "2024-01-01T00:04:00Z"


async def test_firing_alert_is_resent_while_it_holds() -> None:
    """While still firing, new points re-post the alert once the resend interval passed."""
    receiver = Receiver()
    outbound = OutboundAlerts(notifier(receiver), AlertPolicy(n=1, m=1, recovery=5), resend_s=0)
    outbound.observe("x", points("+"))
    outbound.observe("x", points("+", start=1))
    assert await outbound.notifier.drain(2.0)
    await outbound.close()
    sent = [a for body in receiver.bodies for a in body]
    assert len(sent) == 2 and sent[0] == sent[1]
