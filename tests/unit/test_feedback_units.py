"""Feedback's pure parts: the adaptation fold and its relaxation, the analyst
simulation, the ranker's gate and its fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tsad.bench.feedback_sim import lift_at, simulate
from tsad.feedback.adapt import (
    MAX_SIGNATURES,
    Adaptation,
    AdaptConstants,
    Signature,
    adapt,
    context_flags,
    context_raise,
    offset_at,
    relaxed,
)
from tsad.feedback.features import FEATURE_SETS, FEATURES
from tsad.feedback.ranker import RankerStatus, TrainedRanker, train

C = AdaptConstants(margin=0.01, miss_step=0.25, max_raise=4.0, max_lower=0.2, half_life=100.0)


def _record(label: str, created: int, peak: float | None = None) -> dict[str, object]:
    return {"label": label, "created": created, "peak_log_odds": peak, "start": 0, "end": 1}


def test_offset_relaxes_by_half_each_half_life() -> None:
    """An offset halves every half-life of sampling steps; inf never relaxes."""
    assert relaxed(2.0, 100.0, 100.0) == 2.0 * 0.5
    assert relaxed(2.0, 300.0, 100.0) == 2.0 * 0.125
    assert relaxed(2.0, 1e9, math.inf) == 2.0


def test_fold_raises_for_a_false_positive_and_relaxes_between_labels() -> None:
    """A false positive sets the offset just past its peak; a later label starts from
    the relaxed offset; an ``adapts: false`` record (a reset) does nothing."""
    step = 60_000
    one = adapt([_record("false_positive", 0, peak=2.5)], 0.5, C, step_ms=step)
    assert one.offset == 2.5 + 0.01 - 0.5
    later = adapt(
        [_record("false_positive", 0, peak=2.5), _record("missed", 100 * step)],
        0.5,
        C,
        step_ms=step,
    )
    assert math.isclose(later.offset, one.offset / 2 - 0.25)
    off = adapt([{**_record("false_positive", 0, peak=2.5), "adapts": False}], 0.5, C)
    assert off.offset == 0.0 and off.count == 1


def test_simulated_analyst_labels_cut_repeated_false_flags() -> None:
    """On a file whose only surprises are repeated equal false spikes, feedback flags
    the first one only, the run without flags them all, and labels follow each alert."""
    n = 3000
    score = np.full(n, 0.01)
    spikes = [500, 560, 620, 680]
    score[spikes] = 0.8
    ts = np.arange(n, dtype=np.int64) * 60_000
    zeros = np.zeros(n)
    hl = AdaptConstants(0.01, 0.25, 4.0, 0.2, math.inf)
    with_fb = simulate(ts, score, zeros, zeros, [(2000, 2100)], 0.5, hl, step_ms=60_000)
    without = simulate(
        ts, score, zeros, zeros, [(2000, 2100)], 0.5, hl, step_ms=60_000, feedback=False
    )
    assert int(with_fb.flags.sum()) == 1 and int(without.flags.sum()) == 4
    assert with_fb.first_label_row == 500 + 12 + 12
    assert [a.true for a in without.alerts] == [False] * 4


def test_lift_compares_top_share_precision_to_all() -> None:
    """Lift@20% is the precision of the top fifth over the precision of all alerts."""
    from tsad.bench.feedback_sim import SimAlert

    alerts = [SimAlert(i, 0.5, {}, i < 2) for i in range(10)]
    assert lift_at(alerts, [10 - i for i in range(10)]) == 1.0 / 0.2
    assert lift_at(alerts, list(range(10))) == 0.0


def test_ranker_is_off_below_the_label_minimum_then_separates_classes() -> None:
    """Too few labels give a status saying why; enough give a model whose p_true ranks
    a clearly real alert (far past its series' threshold) above a clearly false one."""
    few = train([{"log_odds": 1.0}] * 3, [True, False, True], min_labels=10, min_per_class=2)
    assert isinstance(few, RankerStatus) and not few.enabled and "10 needed" in few.reason
    rng = np.random.default_rng(0)
    rows = [
        {
            **{
                name: float(v)
                for name, v in zip(FEATURES, rng.normal(0, 1, len(FEATURES)), strict=True)
            }
        }
        for _ in range(200)
    ]
    truth = [r["over_threshold"] > 0 for r in rows]
    model = train(rows, truth, min_labels=30, min_per_class=5)
    assert isinstance(model, TrainedRanker) and model.status.enabled
    base = dict.fromkeys(FEATURES, 0.0)
    high, low = model.p_true([{**base, "over_threshold": 2.0}, {**base, "over_threshold": -2.0}])
    assert high > 0.8 > 0.2 > low


def _sig(**kw: float) -> Signature:
    base = {"direction": 1, "extreme": 10.0, "peak": 1.0, "minute": 600.0, "least": 8.0}
    return Signature(**{**base, **kw})  # type: ignore[arg-type]


def test_context_raise_reaches_only_points_that_resemble_the_false_positive() -> None:
    """A false positive's signature raises the threshold (to its peak + margin) of a
    point on its side, inside its value range give or take the tolerance, near its
    time of day — and of no point on the other side, well past its extreme, much
    smaller, or at another time of day."""
    c = AdaptConstants(ctx_margin=0.3, ctx_tolerance=1.0, ctx_minutes=60.0, ctx_two_sided=True)
    points = {  # direction, value, spread, minute
        "alike": (1, 9.0, 1.0, 630.0),
        "just past its extreme": (1, 10.9, 1.0, 570.0),
        "other side": (-1, 9.0, 1.0, 600.0),
        "far past its extreme": (1, 12.5, 1.0, 600.0),
        "much smaller": (1, 5.0, 1.0, 600.0),
        "other time of day": (1, 9.0, 1.0, 800.0),
        "across midnight": (1, 9.0, 1.0, 1430.0),
    }
    d, v, sp, m = (np.array(col, dtype=np.float64) for col in zip(*points.values(), strict=True))
    near_midnight = [_sig(), _sig(minute=10.0)]
    got = dict(zip(points, context_raise(near_midnight, d, v, sp, m, 0.5, c).tolist(), strict=True))
    want = 1.0 + 0.3 - 0.5
    assert got["alike"] == got["just past its extreme"] == got["across midnight"]
    assert got["alike"] == pytest.approx(want)
    for name in ("other side", "far past its extreme", "much smaller", "other time of day"):
        assert got[name] == -math.inf, name
    off = AdaptConstants(ctx_margin=math.nan)
    assert (context_raise(near_midnight, d, v, sp, m, 0.5, off) == -math.inf).all()


def test_fold_keeps_false_positive_signatures_bounded_and_a_true_positive_drops_alike() -> None:
    """Each false positive with a context adds a signature (the newest
    ``MAX_SIGNATURES`` kept); a true positive whose first flag resembles one removes it."""
    ctx = {"direction": 1.0, "extreme": 10.0, "least": 8.0, "peak": 1.0, "minute": 600.0}
    first = {"first_direction": 1.0, "first_value": 9.0, "first_spread": 1.0, "first_minute": 600}
    fps = [
        {**_record("false_positive", k, 1.0), "context": {**ctx, **first, "extreme": 10.0 + k}}
        for k in range(MAX_SIGNATURES + 3)
    ]
    a = adapt(fps, 0.5, C)
    assert len(a.signatures) == MAX_SIGNATURES
    assert a.signatures[0].extreme == 13.0
    assert Adaptation.from_meta(a.to_meta()).signatures == a.signatures
    far = {**ctx, **first, "first_value": 100.0}
    kept = adapt([*fps, {**_record("true_positive", 10**6, 1.0), "context": far}], 0.5, C)
    assert len(kept.signatures) == MAX_SIGNATURES
    alike = {**ctx, **first, "first_value": 9.0}
    gone = adapt([*fps, {**_record("true_positive", 10**6, 1.0), "context": alike}], 0.5, C)
    assert len(gone.signatures) < MAX_SIGNATURES


def test_context_flags_clear_flags_under_their_own_threshold_only() -> None:
    """Flags a signature raises are cleared when their log-odds fall short of it, kept
    when they clear it; unflagged points stay so; is_anomaly is score >= each point's
    threshold."""
    from tsad.series import Scored

    score = np.array([0.7, 0.95, 0.7, 0.3])
    scored = Scored(
        ts=np.full(4, 600 * 60_000, np.int64),
        value=np.array([9.0, 9.5, 50.0, 9.0]),
        expected=np.zeros(4),
        lo=np.zeros(4),
        hi=np.ones(4),
        is_anomaly=np.array([True, True, True, False]),
        direction=np.array([1, 1, 1, 0], np.int8),
        score=score,
        severity=np.zeros(4),
    )
    c = AdaptConstants(ctx_margin=0.3, ctx_tolerance=1.0, ctx_minutes=60.0)
    adaptation = Adaptation(signatures=(_sig(),))
    out = context_flags(scored, np.ones(4), adaptation, 0.5, 0.0, 60_000, c)
    assert out.is_anomaly.tolist() == [False, True, True, False]
    assert out.direction.tolist() == [0, 1, 1, 0]
    threshold = 1.0 / (1.0 + math.exp(-(1.0 + 0.3)))  # the signature's, for the alike ones
    assert ((score[:2] >= threshold) == out.is_anomaly[:2]).all()


def test_ranker_trains_when_a_feature_is_missing_from_every_row() -> None:
    """A feature no labelled alert has (no false positive had a context yet) does not
    stop the ranker from training and scoring."""
    rows = [{"log_odds": float(k % 7), "false_share": 0.5} for k in range(40)]
    truth = [k % 7 > 3 for k in range(40)]
    model = train(rows, truth, min_labels=30, min_per_class=5, features=FEATURE_SETS["all"])
    assert isinstance(model, TrainedRanker)
    high, low = model.p_true([{"log_odds": 6.0}, {"log_odds": 0.0}])
    assert high > low


def test_offset_at_counts_only_labels_on_ranges_before_the_alert() -> None:
    """The offset an alert met folds the labels on ranges that ended before it (relaxed
    to its time); a label on a later range, made at any time, does not count."""
    fp = {**_record("false_positive", 1_000, peak=2.5), "start": 0, "end": 1_000}
    later = {**_record("false_positive", 1_000, peak=3.5), "start": 9_000, "end": 9_500}
    offset, a = offset_at([fp, later], 0.5, 5_000, 100_000)
    assert math.isclose(offset, 2.5 + 0.01 - 0.5, rel_tol=1e-3) and a.count == 1
    alone, _ = offset_at([later], 0.5, 5_000, 100_000)
    assert alone == 0.0


def test_offset_at_includes_the_context_rule_its_flag_resembles() -> None:
    """A false positive's context rule raises the offset of a later flag like it (same
    side, value in range) past the series-wide one, and not of a flag unlike it."""
    ctx = {"direction": 1, "extreme": 10.0, "least": 9.0, "peak": 3.0, "minute": 0.0}
    fp = {**_record("false_positive", 1_000, peak=3.0), "end": 1_000, "context": ctx}
    like = {"direction": 1, "value": 9.5, "spread": 1.0}
    unlike = {**like, "direction": -1}
    c = AdaptConstants(half_life=1.0, ctx_minutes=720.0)
    raised, _ = offset_at([fp], 0.5, 10**9, 60_000, like, c)
    plain, _ = offset_at([fp], 0.5, 10**9, 60_000, unlike, c)
    assert math.isclose(raised, 3.0 + c.ctx_margin - 0.5) and plain < 1e-6


def test_feedback_ceiling_drops_only_false_flags_after_the_first_label() -> None:
    """The bench's oracle ceiling keeps window flags and flags (and alerts) before the
    first label, and drops every other flag and false alert of the run."""
    from types import SimpleNamespace

    from tsad.bench.feedback_run import without_false_flags
    from tsad.bench.feedback_sim import SimAlert, SimResult

    n = 100
    flags = np.zeros(n, bool)
    flags[[5, 30, 50, 55, 90]] = True
    fs = SimpleNamespace(ts=np.arange(n, dtype=np.int64), windows=[(48, 60)])
    alerts = [SimAlert(r, 0.9, {}, r == 50) for r in (5, 30, 50, 90)]
    kept = without_false_flags(fs, SimResult(flags, 20, alerts))
    assert np.flatnonzero(kept.flags).tolist() == [5, 50, 55]
    assert [a.row for a in kept.alerts] == [5, 50]
    unlabelled = without_false_flags(fs, SimResult(flags, None))
    assert np.flatnonzero(unlabelled.flags).tolist() == [5, 30, 50, 55, 90]


def test_false_alerts_alike_counts_false_alerts_after_the_first_label() -> None:
    """Only false alerts at or after the first label count, and those resembling a
    labelled false positive are counted apart."""
    from tsad.bench.feedback_run import false_alerts_alike
    from tsad.bench.feedback_sim import SimAlert, SimResult

    alerts = [
        SimAlert(5, 0.9, {"resembles_fp": 0.0}, False),
        SimAlert(30, 0.9, {"resembles_fp": 2.0}, False),
        SimAlert(40, 0.9, {"resembles_fp": 0.0}, False),
        SimAlert(50, 0.9, {"resembles_fp": 1.0}, True),
    ]
    run = SimResult(np.zeros(100, bool), 20, alerts)
    assert false_alerts_alike([run], [run]) == (2, 1)
