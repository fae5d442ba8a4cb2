"""NAB scoring rules, each pinned on a hand-built case."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tsad.bench.nab_scoring import (
    PROFILES,
    CostMatrix,
    load_profiles,
    probation_length,
    row_weights,
    scaled_sigmoid,
    score_corpus,
    score_file,
    sweep_thresholds,
)

STD = PROFILES["standard"]
SHARED_PROFILES = Path("/work/shared/data/nab/config/profiles.json")


def _sig(x: float) -> float:
    return float(scaled_sigmoid(np.array([x]))[0])


def _spike(n: int, rows: list[int], value: float = 1.0) -> np.ndarray:
    a = np.zeros(n)
    a[rows] = value
    return a


def test_probation_is_fifteen_percent_capped_at_750_rows() -> None:
    """The probation period is floor(15% of rows), never more than 750 rows."""
    assert probation_length(1000) == 150
    assert probation_length(1001) == 150
    assert probation_length(5000) == 750
    assert probation_length(22695) == 750


def test_detections_in_probation_are_not_scored() -> None:
    """A detection on a probation row neither costs nor earns anything."""
    rows = row_weights(1000, [(500, 549)], STD)
    clean = score_file(rows, _spike(1000, [500]), 0.5, STD)
    noisy = score_file(rows, _spike(1000, [0, 10, 149, 500]), 0.5, STD)
    assert noisy.score == clean.score
    assert noisy.fp == 0
    assert score_file(rows, _spike(1000, [150]), 0.5, STD).fp == 1


def test_window_inside_probation_cannot_be_missed() -> None:
    """A window lying wholly in the probation period is not counted as a miss."""
    rows = row_weights(1000, [(10, 20)], STD)
    assert rows.windows == []
    assert score_file(rows, np.zeros(1000), 0.5, STD).score == 0.0


def test_window_left_edge_earns_full_tp_weight_and_weights_fall_through_window() -> None:
    """A detection on a window's first row earns exactly tpWeight; later rows earn less."""
    rows = row_weights(1000, [(500, 599)], STD)
    w = rows.weight[500:600]
    assert w[0] == pytest.approx(1.0, abs=1e-15)
    assert np.all(np.diff(w) < 0)
    assert w[-1] == pytest.approx(_sig(-1 / 100) / _sig(-1.0))
    # halfway through the window: the sigmoid at -0.5, rescaled by the maximum
    assert w[50] == pytest.approx(_sig(-0.5) / _sig(-1.0))


def test_only_earliest_detection_in_a_window_counts() -> None:
    """Later detections in the same window add nothing; the earliest one's weight is the score."""
    rows = row_weights(1000, [(500, 599)], STD)
    one = score_file(rows, _spike(1000, [520]), 0.5, STD)
    many = score_file(rows, _spike(1000, [520, 530, 590]), 0.5, STD)
    assert many.score == one.score == pytest.approx(rows.weight[520])
    assert many.tp == 1 and many.fp == 0
    assert many.detections.tolist() == [520]


def test_missed_window_costs_fn_weight() -> None:
    """A window without a detection costs -fnWeight (2 under reward_low_FN_rate)."""
    rows = row_weights(1000, [(500, 599), (800, 899)], STD)
    res = score_file(rows, _spike(1000, [500]), 0.5, STD)
    assert res.fn == 1
    assert res.score == pytest.approx(1.0 - 1.0)
    low_fn = PROFILES["reward_low_FN_rate"]
    rows_fn = row_weights(1000, [(500, 599), (800, 899)], low_fn)
    assert score_file(rows_fn, np.zeros(1000), 0.5, low_fn).score == pytest.approx(-4.0)


def test_false_positive_before_any_window_costs_full_fp_weight() -> None:
    """A detection before the first window costs exactly -fpWeight."""
    rows = row_weights(1000, [(800, 899)], STD)
    assert rows.weight[200] == -0.11
    res = score_file(rows, _spike(1000, [200, 800]), 0.5, STD)
    assert res.score == pytest.approx(1.0 - 0.11)
    assert res.fp == 1


def test_false_positive_after_window_is_sigmoid_weighted_by_distance() -> None:
    """Just past a window an FP costs little; three widths past it costs the full fpWeight."""
    rows = row_weights(1000, [(300, 400)], STD)  # width 101 rows, distance unit 100
    just_after = rows.weight[401]
    assert just_after == pytest.approx(0.11 * _sig(1 / 100))
    assert -0.11 < just_after < 0
    assert rows.weight[450] == pytest.approx(0.11 * _sig(0.5))
    assert rows.weight[700] == -0.11
    assert np.all(np.diff(rows.weight[401:700]) <= 0)


def test_low_fp_profile_doubles_the_false_positive_cost() -> None:
    """reward_low_FP_rate charges twice the standard profile for the same FP."""
    low_fp = PROFILES["reward_low_FP_rate"]
    a = _spike(1000, [200, 250])
    std = score_file(row_weights(1000, [], STD), a, 0.5, STD).score
    lfp = score_file(row_weights(1000, [], low_fp), a, 0.5, low_fp).score
    assert std == pytest.approx(-0.22)
    assert lfp == pytest.approx(2 * std)


@pytest.mark.skipif(not SHARED_PROFILES.is_file(), reason="shared NAB data not present")
def test_profiles_file_gives_nabs_three_cost_matrices() -> None:
    """profiles.json yields standard, reward_low_FP_rate and reward_low_FN_rate as published."""
    assert load_profiles(SHARED_PROFILES) == PROFILES


def test_profiles_reader_takes_nab_cost_matrix_shape(tmp_path: Path) -> None:
    """A profiles file in NAB's CostMatrix shape is read weight by weight."""
    path = tmp_path / "profiles.json"
    matrix = {"tpWeight": 1.0, "fpWeight": 0.5, "fnWeight": 3.0, "tnWeight": 1.0}
    path.write_text(json.dumps({"mine": {"CostMatrix": matrix}}))
    assert load_profiles(path) == {"mine": CostMatrix(tp=1.0, fp=0.5, fn=3.0)}


def test_null_detector_normalises_to_zero_and_perfect_to_hundred() -> None:
    """Normalisation: constant scores give 0, a hit on every window's first row gives 100."""
    windows = {"a": [(300, 349), (600, 649)], "b": [(500, 599)], "c": []}
    n = 1000
    for name, cost in PROFILES.items():
        rows = {k: row_weights(n, w, cost) for k, w in windows.items()}
        null = score_corpus({k: (r, np.full(n, 0.5)) for k, r in rows.items()}, cost, name, 3)
        perfect_scores = {k: _spike(n, [left for left, _ in windows[k]]) for k in windows}
        perfect = score_corpus({k: (r, perfect_scores[k]) for k, r in rows.items()}, cost, name, 3)
        assert null.normalised == pytest.approx(0.0, abs=1e-12)
        assert perfect.normalised == pytest.approx(100.0)
        assert null.null == -3 * cost.fn


def test_one_global_threshold_is_optimised_over_the_corpus() -> None:
    """The chosen threshold maximises the corpus total; files cannot pick their own."""
    n = 1000
    rows_a = row_weights(n, [(500, 599)], STD)
    rows_b = row_weights(n, [], STD)
    a = _spike(n, [510], 0.6)  # the window is found only at thresholds <= 0.6
    b = np.zeros(n)
    b[[200, 210, 220, 230, 240, 250, 260, 270, 280, 290, 300]] = 0.7  # 11 FPs above it
    res = score_corpus({"a": (rows_a, a), "b": (rows_b, b)}, STD, "standard", 1)
    # catching the window (+~0.98 + 1 miss avoided) beats 11 FPs (-1.21): go to 0.6
    assert res.threshold == 0.6
    assert res.per_file["a"].tp == 1 and res.per_file["b"].fp == 11
    assert res.raw == pytest.approx(rows_a.weight[510] - 11 * 0.11)


def test_sweep_equals_brute_force_at_every_threshold() -> None:
    """The exact sweep's total at each threshold equals scoring each file directly."""
    rng = np.random.default_rng(7)
    files = []
    for w in ([(300, 349), (600, 700)], [], [(900, 990)]):
        rows = row_weights(1000, w, STD)
        files.append((rows, np.round(rng.random(1000), 2)))
    sweep = sweep_thresholds(files, STD)
    for t, total in zip(sweep.thresholds[1:], sweep.totals[1:], strict=True):
        direct = sum(score_file(r, a, float(t), STD).score for r, a in files)
        assert total == pytest.approx(direct, abs=1e-9)
    assert sweep.totals[0] == -3.0
    best_t, best = sweep.best()
    assert best == max(sweep.totals)
    assert math.isfinite(best_t)
