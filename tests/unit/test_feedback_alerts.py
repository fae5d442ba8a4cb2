"""Outbound alerts and the learned ranker: p_true in the annotations, feedback links,
and alerts below the suppression setting held back (resolution too)."""

from __future__ import annotations

from types import SimpleNamespace

from tests.unit.test_alert_outbound import Receiver, notifier, points
from tsad.integrations.alerts import AlertPolicy
from tsad.integrations.outbound import OutboundAlerts


def _outbound(receiver: Receiver, p_true: float | None, hold_below: float) -> OutboundAlerts:
    out = OutboundAlerts(
        notifier(receiver), AlertPolicy(recovery=2), external_url="http://tsad.test:8000"
    )
    asked: list[tuple[str, int]] = []

    async def ranker(sid: str, ts: int, score: float, severity: float, direction: int):  # type: ignore[no-untyped-def]
        asked.append((sid, ts))
        return p_true

    out.ranker = ranker
    out.hold = lambda p: p is not None and p < hold_below
    out.asked = asked  # type: ignore[attr-defined]
    return out


def _result(sid: str, scored: object) -> SimpleNamespace:
    return SimpleNamespace(series_id=sid, scored=scored)


async def test_firing_alert_carries_p_true_and_feedback_links() -> None:
    """A firing alert asks the ranker once and carries p_true, a console link marking
    the incident and the feedback route."""
    receiver = Receiver()
    out = _outbound(receiver, 0.8125, hold_below=0.0)
    await out(_result("web:p95", points(".+")))  # type: ignore[arg-type]
    assert await out.notifier.drain(2.0)
    await out.close()
    (alert,) = [a for body in receiver.bodies for a in body]
    notes = alert["annotations"]
    assert notes["p_true"] == "0.8125"
    assert notes["feedback_url"] == (
        "http://tsad.test:8000/console/series?id=web%3Ap95&feedback=1704067260"
    )
    assert notes["feedback_api"] == "http://tsad.test:8000/v1/series/web%3Ap95/feedback"
    assert out.asked == [("web:p95", 1_704_067_260_000)]  # type: ignore[attr-defined]


async def test_alert_below_the_setting_is_held_back_with_its_resolution() -> None:
    """An alert whose p_true is below the suppression setting is neither sent nor
    resolved; the next one, ranked higher, is sent."""
    receiver = Receiver()
    out = _outbound(receiver, 0.1, hold_below=0.5)
    await out(_result("cpu", points(".+")))  # type: ignore[arg-type]
    await out(_result("cpu", points("...", start=2)))  # type: ignore[arg-type]
    assert out.notifier.pending == 0 and receiver.bodies == []

    async def confident(*_: object) -> float:
        return 0.9

    out.ranker = confident
    await out(_result("cpu", points("+", start=5)))  # type: ignore[arg-type]
    assert await out.notifier.drain(2.0)
    await out.close()
    sent = [a for body in receiver.bodies for a in body]
    assert len(sent) == 1 and sent[0]["annotations"]["p_true"] == "0.9000"
