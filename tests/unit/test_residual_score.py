"""The causal record score: prefix-stable, self-calibrating, one alert per incident."""

from __future__ import annotations

import numpy as np

from tsad.detect.residual_score import WARMUP, RunningMax, residual_scores


def _noise(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, n), np.zeros(n), np.ones(n)


def test_running_max_holds_the_last_size_values() -> None:
    """RunningMax reports the maximum of exactly the last ``size`` pushes."""
    rm = RunningMax(3)
    seen: list[float] = []
    for x in [5.0, 1.0, 2.0, 0.5, 0.1, 3.0, 0.2]:
        rm.push(x)
        seen.append(x)
        assert rm.max() == max(seen[-3:])


def test_scores_are_prefix_stable() -> None:
    """A point's score never changes when later points are added."""
    y, mean, sigma = _noise(500)
    full = residual_scores(y, mean, sigma)
    assert np.array_equal(full[:321], residual_scores(y[:321], mean[:321], sigma[:321]))


def test_warmup_points_score_near_zero() -> None:
    """The first WARMUP points, with nothing to compare against, are never alarming."""
    y, mean, sigma = _noise(200)
    y[10] = 50.0
    assert residual_scores(y, mean, sigma)[:WARMUP].max() < 1e-6


def test_a_record_residual_tops_the_ranking_without_saturating() -> None:
    """A residual far past any seen before ranks first, below 1.0."""
    y, mean, sigma = _noise(600)
    y[400] = 12.0
    s = residual_scores(y, mean, sigma)
    assert int(np.argmax(s)) == 400
    assert s[400] < 1.0


def test_scale_free_across_series() -> None:
    """Multiplying a series (and its band) by a constant leaves its scores unchanged."""
    y, mean, sigma = _noise(400, seed=3)
    y[300] = 7.0
    a = residual_scores(y, mean, sigma)
    b = residual_scores(1000.0 * y, 1000.0 * mean, 1000.0 * sigma)
    assert np.allclose(a, b, rtol=1e-9, atol=1e-15)


def test_leaving_the_range_outranks_an_in_range_bad_fit() -> None:
    """A value beyond every past value scores above an equally bad fit inside the range."""
    n = 400
    y = np.sin(np.arange(n) / 5.0)
    mean = y.copy()
    sigma = np.full(n, 0.1)
    inside, outside = y.copy(), y.copy()
    inside[300] = y[300] + 0.5 if y[300] < 0 else y[300] - 0.5  # stays within [-1, 1]
    outside[300] = 1.5 if y[300] > 0 else -1.5
    assert residual_scores(outside, mean, sigma)[300] > residual_scores(inside, mean, sigma)[300]


def test_a_repeat_right_after_an_incident_is_damped() -> None:
    """A second, smaller surprise within the refractory period scores far below the first."""
    y, mean, sigma = _noise(600, seed=1)
    y[400], y[410] = 15.0, 12.0
    s = residual_scores(y, mean, sigma, refractory=72)
    assert s[410] < 1e-3 * s[400] * 1.01
    y[410] = 0.0
    y[520] = 20.0  # past the refractory period, a new record is scored in full again
    assert residual_scores(y, mean, sigma, refractory=72)[520] > 0.5
