"""Multivariate detection on small synthetic groups: alignment, the score/flag
contract, contributors, the online scorer against batch, warm-up and SKAB's metrics."""

from __future__ import annotations

import numpy as np
import pytest

from tsad.bench.skab_scoring import binary_metrics, edges, nab_scores
from tsad.detect.threshold import threshold_for
from tsad.errors import InvalidInput, NotEnoughPoints
from tsad.multivariate.align import Aligned, align
from tsad.multivariate.features import RollingFeatures, feature_rows
from tsad.multivariate.groups import check_group, detect_aligned
from tsad.multivariate.online import OnlineGroupScorer
from tsad.multivariate.scoring import GroupModel, fit_model, score_aligned
from tsad.series import Series

STEP = 60_000


def grid(values: np.ndarray) -> Aligned:
    n, d = values.shape
    names = tuple(f"v{j}" for j in range(d))
    return Aligned(np.arange(n, dtype=np.int64) * STEP, values, names, (0,) * d, STEP)


def metrics(n: int, seed: int = 0, fault: slice | None = None) -> np.ndarray:
    """cpu, latency = 2·cpu, errors; in ``fault`` latency leaves its relation to cpu."""
    rng = np.random.default_rng(seed)
    cpu = 50 + 10 * np.sin(np.arange(n) / 15) + rng.normal(0, 1, n)
    lat = 2 * cpu + rng.normal(0, 1, n)
    err = rng.normal(3, 0.5, n)
    if fault is not None:
        lat[fault] += 30
    return np.column_stack([cpu, lat, err])


def test_align_fills_gaps_and_counts_them() -> None:
    """Members on one grid: a missing slot takes the member's previous value and is counted."""
    a = Series(np.array([0, 60_000, 120_000, 180_000]), np.array([1.0, 2.0, 3.0, 4.0]))
    b = Series(np.array([0, 180_000]), np.array([10.0, 40.0]))
    al = align({"a": a, "b": b})
    assert al.ts.tolist() == [0, 60_000, 120_000, 180_000]
    assert al.values[:, 1].tolist() == [10.0, 10.0, 10.0, 40.0]
    assert al.filled == (0, 2)


def test_align_refuses_one_series_or_an_empty_member() -> None:
    """A group is 2+ series, each with points."""
    a = Series(np.array([0, 60_000]), np.array([1.0, 2.0]))
    with pytest.raises(InvalidInput):
        align({"a": a})
    with pytest.raises(InvalidInput):
        align({"a": a, "b": Series(np.array([], dtype=np.int64), np.array([]))})


@pytest.mark.parametrize("detector", ["pca", "iforest"])
def test_fault_flagged_and_flags_follow_the_threshold(detector: str) -> None:
    """A broken relation is flagged, the normal start is not, and is_anomaly is exactly
    score >= threshold; a higher sensitivity flags at least as many rows."""
    al = grid(metrics(600, fault=slice(450, 520)))
    det = fit_model(detector, al, slice(0, 300))
    s = score_aligned(al, det)
    assert s.is_anomaly[470:520].mean() > 0.8
    assert s.is_anomaly[100:300].mean() < 0.05
    assert np.array_equal(s.is_anomaly, s.score >= s.threshold)
    assert s.threshold == pytest.approx(threshold_for(95.0))
    more = score_aligned(al, det, sensitivity=99.0)
    assert more.is_anomaly.sum() >= s.is_anomaly.sum()
    assert np.all((s.score >= 0) & (s.score <= 1))


def test_pca_contributors_name_the_variable_that_moved() -> None:
    """A variable that leaves its own range is the top contributor; a broken relation
    between two variables puts both on top (one row cannot tell which side moved)."""
    v = metrics(600)
    v[450:520, 2] += 4.0  # errors alone
    al = grid(v)
    s = score_aligned(al, fit_model("pca", al, slice(0, 300)))
    tops = [s.top(i, 1)[0][0] for i in range(470, 520) if s.is_anomaly[i]]
    assert tops and tops.count("v2") / len(tops) > 0.9
    al = grid(metrics(600, fault=slice(450, 520)))
    s = score_aligned(al, fit_model("pca", al, slice(0, 300)))
    assert all({v for v, _ in s.top(i, 2)} == {"v0", "v1"} for i in range(480, 520))
    assert np.allclose(s.shares[480:520].sum(axis=1), 1.0)


@pytest.mark.parametrize("sensitivity", [95.0, 99.0])
def test_online_scorer_matches_batch_scoring(sensitivity: float) -> None:
    """The O(1)-per-row scorer gives the batch scores, flags, change points and shares on
    the same rows."""
    al = grid(metrics(400, fault=slice(300, 340)))
    model = fit_model("pca", al, slice(0, 200))
    batch = score_aligned(al, model, sensitivity=sensitivity)
    online = OnlineGroupScorer(model, sensitivity)
    rows = [online.push(r) for r in al.values]
    assert np.allclose([r.score for r in rows], batch.score)
    assert [r.is_anomaly for r in rows] == batch.is_anomaly.tolist()
    assert [r.is_change_point for r in rows] == batch.change_points.tolist()
    assert batch.change_points[290:345].any()
    assert np.allclose(np.array([r.shares for r in rows]), batch.shares)


def test_rolling_features_match_the_batch_features() -> None:
    """Level and residual columns built row by row equal the batch ones."""
    v = metrics(200)
    for long, level in ((0, True), (30, True), (30, False)):
        rf = RollingFeatures(3, 10, long, level)
        rows = np.array([rf.push(r) for r in v])
        assert np.allclose(rows, feature_rows(v, 10, long, level))


def test_change_points_mark_the_onset_of_a_shift_not_its_persistence() -> None:
    """A lasting shift gives a change point where it starts (and where it ends), not on
    every later row; the normal rows before it give none."""
    v = metrics(900)
    v[500:, 1] += 30.0  # latency leaves its relation to cpu and stays there
    al = grid(v)
    s = score_aligned(al, fit_model("pca", al, slice(0, 300)))
    cps = np.flatnonzero(s.change_points)
    assert cps.size and 500 <= cps[0] <= 515
    assert not s.change_points[300:500].any()
    assert s.change_points.sum() <= 3
    assert s.is_anomaly[600:900].mean() > 0.8  # the level columns keep flagging it


def test_group_model_state_round_trips() -> None:
    """A group model rebuilt from its state scores as the original does."""
    al = grid(metrics(400, fault=slice(300, 340)))
    model = fit_model("pca", al, slice(0, 200))
    again = GroupModel.from_state(model.to_state())
    a, b = score_aligned(al, model), score_aligned(al, again)
    assert np.allclose(a.score, b.score) and np.array_equal(a.change_points, b.change_points)


def test_online_scorer_state_round_trips() -> None:
    """A scorer rebuilt from its state scores the next row as the original does."""
    al = grid(metrics(300))
    sc = OnlineGroupScorer(fit_model("pca", al, slice(0, 200)))
    for r in al.values[:250]:
        sc.push(r)
    again = OnlineGroupScorer.from_state(sc.to_state())
    a, b = again.push(al.values[250]), sc.push(al.values[250])
    assert a.score == pytest.approx(b.score) and a.is_change_point == b.is_change_point


def test_online_replay_keeps_the_warm_up_silent() -> None:
    """Online replay: the warm-up rows are learning and never flagged, even a fault in them;
    too few rows for the warm-up is NotEnoughPoints."""
    al = grid(metrics(400, fault=slice(20, 40)))
    s = detect_aligned(al, "pca", mode="online", warmup=100)
    assert s.learning[:100].all() and not s.learning[100:].any()
    assert not s.is_anomaly[:100].any()
    with pytest.raises(NotEnoughPoints):
        detect_aligned(grid(metrics(50)), "pca", mode="online", warmup=100)


def test_batch_mode_is_robust_to_the_fault_it_contains() -> None:
    """Batch fits on every row but refits without the first pass's flags: the fault is flagged."""
    s = detect_aligned(grid(metrics(600, fault=slice(450, 500))), "pca")
    assert s.is_anomaly[460:500].mean() > 0.8


def test_group_definition_is_validated() -> None:
    """A group lists 2+ distinct valid series ids and a known detector."""
    assert check_group("host", ["a", "b"], "pca", 95).series == ("a", "b")
    for series, det in (
        (["a"], "pca"),
        (["a", "a"], "pca"),
        (["a", "b/c"], "pca"),
        (["a", "b"], "x"),
    ):
        with pytest.raises(InvalidInput):
            check_group("host", series, det, 95)


def test_skab_binary_metrics_follow_the_definitions() -> None:
    """F1 = TP/(TP+(FP+FN)/2), FAR = FP/(FP+TN), MAR = FN/(FN+TP), pooled over files."""
    t = [np.array([1, 1, 0, 0], bool), np.array([0, 1], bool)]
    p = [np.array([1, 0, 1, 0], bool), np.array([0, 1], bool)]
    b = binary_metrics(t, p)
    assert b.f1 == pytest.approx(2 / (2 + 1))
    assert b.far == pytest.approx(100 / 3)
    assert b.mar == pytest.approx(100 / 3)


def test_nab_perfect_null_and_edges() -> None:
    """A detection at each change point scores 100, none scores 0, a lone false alarm
    lowers the score; predicted change points are the edges of the flags."""
    ts = np.arange(600, dtype=np.int64)
    cp = np.zeros(600, bool)
    cp[[100, 300]] = True
    assert nab_scores([ts], [cp], [cp]).scores["standard"] == pytest.approx(100.0)
    assert nab_scores([ts], [cp], [np.zeros(600, bool)]).scores["standard"] == pytest.approx(0.0)
    fp = cp.copy()
    fp[500] = True
    assert nab_scores([ts], [cp], [fp]).scores["standard"] < 100.0
    flags = np.zeros(10, bool)
    flags[3:6] = True
    assert np.flatnonzero(edges(flags)).tolist() == [3, 6]
