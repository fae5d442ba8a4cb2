"""The bundled model's input padding and band widening (pure numpy, no torch)."""

from __future__ import annotations

import numpy as np
import pytest

from tsad.models.pretrained_base import WIDEN_BY_SEASONS, periodic_pad, widen_factor


def test_short_history_is_extended_by_repeating_its_first_season() -> None:
    """A history shorter than the window gets whole first seasons prepended, in order."""
    y = np.arange(10, dtype=np.float64)
    out = periodic_pad(y, 14, 4)
    np.testing.assert_array_equal(out, np.r_[0, 1, 2, 3, np.arange(10)])


def test_long_history_keeps_its_last_window() -> None:
    """A history at least one window long is cut to its last ``length`` points."""
    y = np.arange(30, dtype=np.float64)
    np.testing.assert_array_equal(periodic_pad(y, 12, 4), np.arange(18, 30))


def test_widen_factor_interpolates_between_measured_lengths_and_never_narrows() -> None:
    """Between two calibrated lengths the factor is linear; outside them it is constant, ≥ 1."""
    (a, fa), (b, fb) = WIDEN_BY_SEASONS[0], WIDEN_BY_SEASONS[1]
    assert widen_factor((a + b) / 2) == pytest.approx((fa + fb) / 2)
    assert widen_factor(a - 1) == pytest.approx(max(1.0, fa))
    assert widen_factor(1_000) == pytest.approx(max(1.0, WIDEN_BY_SEASONS[-1][1]))
    assert all(widen_factor(s) >= 1.0 for s in np.linspace(0, 30, 61))
