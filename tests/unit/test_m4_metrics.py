"""M4 evaluation pieces: Naive2, the seasonality test, MSIS and OWA."""

from __future__ import annotations

import numpy as np
import pytest

from tsad.bench.m4_metrics import is_seasonal, msis, naive2, owa, seasonal_indices, seasonal_scale


def _daily(n: int, noise: float = 0.0) -> np.ndarray:
    t = np.arange(n)
    rng = np.random.default_rng(1)
    return 100.0 + 20.0 * np.sin(2 * np.pi * t / 24) + rng.normal(0, noise, n)


def test_seasonality_test_accepts_daily_cycle_and_rejects_white_noise() -> None:
    """The 90% autocorrelation test finds a lag-24 cycle and not one in noise."""
    assert is_seasonal(_daily(480, 1.0), 24)
    noise = 100.0 + np.random.default_rng(2).normal(0, 1, 480)
    assert not is_seasonal(noise, 24)


def test_naive2_is_plain_naive_on_a_non_seasonal_series() -> None:
    """Without seasonality Naive2 repeats the last value."""
    y = 50.0 + np.random.default_rng(3).normal(0, 1, 300)
    assert np.all(naive2(y, 48, 24) == y[-1])


def test_naive2_carries_the_seasonal_shape_forward() -> None:
    """On a clean multiplicative daily cycle Naive2 continues the cycle."""
    t = np.arange(24 * 20 + 48)
    y = 100.0 * (1.0 + 0.2 * np.sin(2 * np.pi * t / 24))
    fc = naive2(y[:-48], 48, 24)
    assert fc == pytest.approx(y[-48:], rel=1e-3)


def test_seasonal_indices_average_to_one() -> None:
    """Classical multiplicative indices are normalised to mean 1."""
    assert seasonal_indices(_daily(24 * 10, 0.5), 24).mean() == pytest.approx(1.0)


def test_msis_is_width_over_scale_inside_and_penalises_misses() -> None:
    """MSIS: band width over the seasonal scale, plus 2/alpha times each miss."""
    y = np.array([1.0, 2.0])
    lo, hi = np.array([0.0, 0.0]), np.array([4.0, 4.0])
    assert msis(y, lo, hi, 2.0) == pytest.approx(2.0)
    miss = msis(np.array([5.0, 2.0]), lo, hi, 2.0)
    # row 1: width 4 + (2/0.05)·1 = 44; row 2: width 4; mean 24 over scale 2
    assert miss == pytest.approx(12.0)


def test_seasonal_scale_is_mean_absolute_lag_m_difference() -> None:
    """The MASE denominator is the in-sample mean |y_t - y_{t-m}|."""
    y = np.array([1.0, 2.0, 4.0, 7.0])
    assert seasonal_scale(y, 1) == pytest.approx((1 + 2 + 3) / 3)


def test_owa_of_naive2_against_itself_is_one() -> None:
    """OWA averages the two ratios to Naive2; Naive2 itself scores 1."""
    assert owa(10.0, 2.0, 10.0, 2.0) == 1.0
    assert owa(5.0, 2.0, 10.0, 2.0) == pytest.approx(0.75)
