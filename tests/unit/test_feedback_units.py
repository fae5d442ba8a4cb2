"""Feedback's pure parts: the adaptation fold and its relaxation, the analyst
simulation, the ranker's gate and its fit."""

from __future__ import annotations

import math

import numpy as np

from tsad.bench.feedback_sim import lift_at, simulate
from tsad.feedback.adapt import AdaptConstants, adapt, relaxed
from tsad.feedback.features import FEATURES
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
    a clearly real alert above a clearly false one."""
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
    truth = [r["log_odds"] > 0 for r in rows]
    model = train(rows, truth, min_labels=30, min_per_class=5)
    assert isinstance(model, TrainedRanker) and model.status.enabled
    base = dict.fromkeys(FEATURES, 0.0)
    high, low = model.p_true([{**base, "log_odds": 2.0}, {**base, "log_odds": -2.0}])
    assert high > 0.8 > 0.2 > low
