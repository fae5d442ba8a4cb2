"""Operator feedback end to end in-process: each label's effect on the series'
threshold and flags, reset and delete, the ranker's gate, and durability."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import numpy as np
import pytest

from tests.redis_server import RedisServer, redis_available
from tsad.api.schemas import ContextThreshold
from tsad.buffer.memory import MemoryBuffer
from tsad.detect.threshold import threshold_for, threshold_log_odds
from tsad.errors import FeedbackNotFound, InvalidInput, SeriesNotFound
from tsad.feedback.adapt import MAX_LOWER, MISS_STEP
from tsad.feedback.records import FeedbackInput
from tsad.service import TsadService
from tsad.settings import (
    ApiSettings,
    BufferSettings,
    FeedbackSettings,
    ModelSettings,
    Settings,
)
from tsad.types import Buffer

HOUR = 3_600_000
T0 = 1_700_000_000_000


def _settings(**feedback: int) -> Settings:
    return Settings(
        models=ModelSettings(runner="thread"),
        api=ApiSettings(max_points_per_request=5000),
        feedback=FeedbackSettings(**feedback),  # type: ignore[arg-type]
    )


def seasonal(n: int, start: int = 0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(start, start + n)
    y = 50 + 5 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.5, n)
    return (T0 + t * HOUR).astype(np.int64), y


async def _ready(svc: TsadService, sid: str = "cpu", n: int = 24 * 10) -> int:
    """A series with a fitted band and a primed scorer; returns its next step index."""
    ts, y = seasonal(n)
    await svc.ingest(sid, ts, y)
    await svc.refit(sid)
    return n


async def _spike(svc: TsadService, i: int, height: float, sid: str = "cpu") -> tuple[int, float]:
    """Ingest normal points up to step ``i`` then a spike at ``i``; (ts, score) of the spike."""
    ts, y = seasonal(1, start=i)
    y = y + height
    r = await svc.ingest(sid, ts, y)
    return int(ts[0]), float(r.scored.score[0])


@pytest.fixture
async def service() -> AsyncIterator[TsadService]:
    svc = TsadService(_settings(min_labels=4, min_per_class=2), buffer=MemoryBuffer())
    yield svc
    await svc.close()


async def test_false_positive_raises_the_threshold_just_above_its_score(
    service: TsadService,
) -> None:
    """A false positive raises the series' threshold just past the flag's score, so an
    equally surprising point no longer fires, while a clearly bigger one still does."""
    i = await _ready(service)
    ts, score = await _spike(service, i, 5.0)
    before = (await service.series("cpu")).threshold
    assert score >= before
    await service.feedback.add("cpu", FeedbackInput("false_positive", ts))
    view = await service.series("cpu")
    assert view.feedback_count == 1 and view.threshold_offset > 0
    assert score < view.threshold < score + 0.05 * (1 - score) + 1e-3
    assert view.sensitivity == 95.0  # the setting itself is untouched
    # far past the refractory period, a much larger spike still fires
    await service.ingest("cpu", *seasonal(200, start=i + 1))
    await service.refit("cpu")
    _, bigger = await _spike(service, i + 201, 400.0)
    assert bigger >= view.threshold


async def test_true_positive_keeps_a_confirmed_kind_of_alert_firing(
    service: TsadService,
) -> None:
    """A true positive caps the threshold below its flag's score (after a false positive
    raised it past it), and stores the alert's features for the ranker."""
    i = await _ready(service)
    ts, score = await _spike(service, i, 5.0)
    await service.feedback.add("cpu", FeedbackInput("false_positive", ts))
    assert (await service.series("cpu")).threshold > score
    record = await service.feedback.add("cpu", FeedbackInput("true_positive", ts - HOUR, ts))
    assert (await service.series("cpu")).threshold < score
    assert record["features"] is not None and record["features"]["log_odds"] > 0


async def test_false_positive_silences_flags_that_resemble_it_long_after(
    service: TsadService,
) -> None:
    """Long after a false positive (its series-wide raise relaxed), a spike like it at
    the same time of day is no longer flagged though it clears the series' threshold:
    the series info shows the context threshold it missed, and ``is_anomaly == score
    >= threshold`` holds with that threshold; a spike far beyond it still fires."""
    i = await _ready(service)
    ts, score = await _spike(service, i, 5.0)
    assert score >= (await service.series("cpu")).threshold
    # labelled 5,000 steps ago: the series-wide offset has relaxed to nothing
    await service.feedback.add(
        "cpu", FeedbackInput("false_positive", ts), now_ms=ts + HOUR - 5_000 * HOUR
    )
    view = await service.series("cpu")
    assert view.threshold_offset == pytest.approx(0.0, abs=1e-9)
    (rule,) = view.context_thresholds
    assert rule["direction"] == "up" and rule["threshold"] > view.threshold
    # the series info's wire form carries the rule as it is
    wire = msgspec.json.decode(msgspec.json.encode(ContextThreshold(**rule)))
    assert wire == {**rule, "threshold": pytest.approx(rule["threshold"])}
    # ten days on (the scorer has forgotten the first spike), at the same hour
    for k in range(i + 1, i + 240, 100):
        await service.ingest("cpu", *seasonal(min(100, i + 240 - k), start=k))
        await service.refit("cpu")
    _, again = await _spike(service, i + 240, 5.0)
    assert view.threshold <= again < rule["threshold"]
    assert await service.anomalies("cpu", ts + HOUR, None) == []
    _, big = await _spike(service, i + 264, 400.0)
    assert big >= rule["threshold"]
    assert len(await service.anomalies("cpu", ts + HOUR, None)) == 1


async def test_true_positive_lifts_the_context_rules_it_resembles(
    service: TsadService,
) -> None:
    """A true positive on an alert like an earlier false positive removes that false
    positive's context threshold (a confirmed kind of alert keeps firing)."""
    i = await _ready(service)
    ts, _ = await _spike(service, i, 5.0)
    await service.feedback.add("cpu", FeedbackInput("false_positive", ts))
    assert len((await service.series("cpu")).context_thresholds) == 1
    await service.feedback.add("cpu", FeedbackInput("true_positive", ts))
    assert (await service.series("cpu")).context_thresholds == []


async def test_missed_lowers_the_threshold_in_bounded_steps(service: TsadService) -> None:
    """Each missed label lowers the threshold by a step, never past its lower bound."""
    await _ready(service)
    base = (await service.series("cpu")).threshold
    await service.feedback.add("cpu", FeedbackInput("missed", T0, T0 + 5 * HOUR))
    one = await service.series("cpu")
    assert one.threshold < base
    assert one.threshold_offset == pytest.approx(-min(MISS_STEP, MAX_LOWER), abs=1e-6)
    for _ in range(5):
        await service.feedback.add("cpu", FeedbackInput("missed", T0, T0 + HOUR))
    many = await service.series("cpu")
    assert many.threshold_offset == pytest.approx(-MAX_LOWER, abs=1e-6)
    assert many.threshold > threshold_for(99.9) - 1e-12


async def test_expected_ranges_raise_no_flags_and_stay_out_of_fits(
    service: TsadService,
) -> None:
    """Points in an expected range (a planned maintenance) are not scored or flagged
    and do not teach the scorer (the same jump after the range is flagged), and a refit
    leaves them out."""
    i = await _ready(service)
    start = T0 + i * HOUR
    await service.feedback.add("cpu", FeedbackInput("expected", start, start + 3 * HOUR))
    ts, y = seasonal(3, start=i)
    r = await service.ingest("cpu", ts, y + 60.0)
    assert not r.scored.is_anomaly.any()
    assert (r.scored.score == 0).all() and np.isnan(r.scored.expected).all()
    assert await service.anomalies("cpu", None, None) == []
    # after the range, the same jump is flagged again
    ts2, y2 = seasonal(1, start=i + 5)
    assert (await service.ingest("cpu", ts2, y2 + 60.0)).scored.is_anomaly.all()
    seen: list[np.ndarray] = []
    real = service.runner.run

    async def spy(fn, *args, **kw):  # type: ignore[no-untyped-def]
        seen.append(args[3])  # refit_job(models, model, ts, y, ...)
        return await real(fn, *args, **kw)

    service.runner.run = spy  # type: ignore[method-assign]
    await service.refit("cpu")
    assert seen and not np.isin(ts, seen[0]).any()


async def test_reset_undoes_adaptation_and_delete_replays_the_rest(
    service: TsadService,
) -> None:
    """Reset restores the base threshold but keeps the labels; deleting one label
    replays the others; an unknown id or series is a 404 error."""
    i = await _ready(service)
    base = (await service.series("cpu")).threshold
    ts, _ = await _spike(service, i, 5.0)
    fp = await service.feedback.add("cpu", FeedbackInput("false_positive", ts))
    await service.feedback.add("cpu", FeedbackInput("missed", T0, T0 + HOUR))
    await service.feedback.delete("cpu", fp["id"])
    offset = (await service.series("cpu")).threshold_offset
    assert offset == pytest.approx(-min(MISS_STEP, MAX_LOWER), abs=1e-6)
    await service.feedback.reset("cpu")
    view = await service.series("cpu")
    assert view.threshold == pytest.approx(base) and view.feedback_count == 1
    assert [r["label"] for r in await service.feedback.records("cpu")] == ["missed"]
    with pytest.raises(FeedbackNotFound):
        await service.feedback.delete("cpu", "nope")
    with pytest.raises(SeriesNotFound):
        await service.feedback.add("other", FeedbackInput("missed", T0))
    with pytest.raises(InvalidInput):
        await service.feedback.add("cpu", FeedbackInput("bogus", T0))
    with pytest.raises(InvalidInput):
        await service.feedback.add("cpu", FeedbackInput("missed", T0, T0 - 1))


async def test_alert_features_see_the_threshold_as_it_was_when_the_alert_fired(
    service: TsadService,
) -> None:
    """A labelled alert's features count only labels on earlier ranges: a false positive
    on a later alert does not move its offset, and an alert after both labels carries
    the offset they left, its margin measured from there."""
    i = await _ready(service)
    ts1, _ = await _spike(service, i, 5.0)
    await service.ingest("cpu", *seasonal(99, start=i + 1))
    await service.refit("cpu")
    ts2, _ = await _spike(service, i + 100, 5.0)
    await service.feedback.add("cpu", FeedbackInput("false_positive", ts2))
    assert (await service.series("cpu")).threshold_offset > 0
    early = (await service.feedback.add("cpu", FeedbackInput("true_positive", ts1)))["features"]
    base = threshold_log_odds(95.0)
    assert early["offset"] == 0.0
    raised = (await service.series("cpu")).threshold_offset
    assert raised > 0
    assert early["over_threshold"] == pytest.approx(early["log_odds"] - base)
    await service.ingest("cpu", *seasonal(99, start=i + 101))
    await service.refit("cpu")
    ts3, _ = await _spike(service, i + 200, 300.0)
    late = (await service.feedback.add("cpu", FeedbackInput("true_positive", ts3)))["features"]
    assert late["offset"] == pytest.approx(raised, rel=1e-6)
    assert late["over_threshold"] == pytest.approx(late["log_odds"] - base - raised)


async def test_ranker_stays_off_until_enough_labels_then_scores_alerts(
    service: TsadService,
) -> None:
    """Below the label minimum the ranker is off and says why; with enough labelled
    alerts it trains and gives a probability for a new alert and for each incident."""
    status = await service.feedback.train()
    assert not status.enabled and "enough labels" in status.reason
    assert await service.feedback.p_true("cpu", T0, 0.9, 1.0, 1) is None
    assert await service.feedback.rank("cpu", []) == []
    for sid in ("a", "b"):
        i = await _ready(service, sid)
        for k, (height, label) in enumerate([(5.0, "false_positive"), (300.0, "true_positive")]):
            at = i + k * 100
            if k:
                await service.ingest(sid, *seasonal(99, start=at - 99))
                await service.refit(sid)
            ts, _ = await _spike(service, at, height, sid)
            await service.feedback.add(sid, FeedbackInput(label, ts))
    status = await service.feedback.train()
    assert status.enabled and status.labels == 4 and status.true_labels == 2
    p = await service.feedback.p_true("a", T0 + 2000 * HOUR, 0.99, 2.0, 1)
    assert p is not None and 0.0 <= p <= 1.0
    incidents = await service.incidents("a", None, None)
    ranks = await service.feedback.rank("a", incidents)
    assert len(ranks) == len(incidents) >= 2
    assert all(r is not None and 0.0 <= r <= 1.0 for r in ranks)


async def _label_and_close(buffer: Buffer) -> float:
    svc = TsadService(_settings(), buffer=buffer)
    i = await _ready(svc)
    ts, _ = await _spike(svc, i, 5.0)
    await svc.feedback.add("cpu", FeedbackInput("false_positive", ts, note="deploy noise"))
    threshold = (await svc.series("cpu")).threshold
    await svc.close()
    return threshold


async def _reopened(buffer: Buffer, threshold: float) -> None:
    svc = TsadService(_settings(), buffer=buffer)
    try:
        view = await svc.series("cpu")
        assert view.feedback_count == 1 and view.threshold == pytest.approx(threshold)
        (record,) = await svc.feedback.records("cpu")
        assert record["label"] == "false_positive" and record["note"] == "deploy noise"
    finally:
        await svc.close()


@pytest.mark.skipif(not redis_available(), reason="redis-server is not installed")
async def test_feedback_survives_a_redis_restart() -> None:
    """Labels and the threshold they set are still there after redis-server restarts
    (append-only file) and a new tsad process connects."""
    from tsad.buffer.redis import RedisBuffer

    server = RedisServer(appendonly=True).start()
    try:
        url = server.url
        threshold = await _label_and_close(RedisBuffer.from_settings(BufferSettings(redis_url=url)))
        server.stop()
        server.start()
        await _reopened(RedisBuffer.from_settings(BufferSettings(redis_url=url)), threshold)
    finally:
        server.cleanup()


async def test_feedback_survives_a_restart_on_the_embedded_store(tmp_path: Path) -> None:
    """Labels and the threshold they set are still there when the embedded store reopens."""
    from tsad.buffer.embedded import EmbeddedBuffer

    settings = BufferSettings(backend="embedded", data_dir=str(tmp_path))
    threshold = await _label_and_close(EmbeddedBuffer.open(settings))
    await _reopened(EmbeddedBuffer.open(settings), threshold)


async def test_ranker_retrains_on_its_schedule_and_the_alerts_ask_it() -> None:
    """Started, the desk retrains soon and then every interval (off the loop), and
    the outbound alerts of a service with Alertmanager receivers ask it for p_true."""
    import asyncio
    import dataclasses

    from tsad.integrations.hub import Integrations
    from tsad.settings import IntegrationSettings

    settings = dataclasses.replace(
        _settings(),
        feedback=FeedbackSettings(first_train_s=0.01, retrain_every_s=0.05),
        integrations=IntegrationSettings(alertmanager_urls=("http://am.test:9093",)),
    )
    svc = TsadService(settings, buffer=MemoryBuffer())
    seen: list[str] = []
    real = svc.feedback.train

    async def counted():  # type: ignore[no-untyped-def]
        seen.append("train")
        return await real()

    svc.feedback.train = counted  # type: ignore[method-assign]
    hub = Integrations(svc, settings)
    try:
        assert hub.outbound is not None and hub.outbound.ranker == svc.feedback.p_true
        svc.feedback.start()
        for _ in range(100):
            if len(seen) >= 2:
                break
            await asyncio.sleep(0.02)
        assert len(seen) >= 2 and "enough labels" in svc.feedback.status.reason
    finally:
        await hub.close()
        await svc.close()
