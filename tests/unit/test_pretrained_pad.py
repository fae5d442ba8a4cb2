"""The bundled model's input padding (pure numpy, no torch)."""

from __future__ import annotations

import numpy as np

from tsad.models.pretrained_base import periodic_pad


def test_short_history_is_extended_by_repeating_its_first_season() -> None:
    """A history shorter than the window gets whole first seasons prepended, in order."""
    y = np.arange(10, dtype=np.float64)
    out = periodic_pad(y, 14, 4)
    np.testing.assert_array_equal(out, np.r_[0, 1, 2, 3, np.arange(10)])


def test_long_history_keeps_its_last_window() -> None:
    """A history at least one window long is cut to its last ``length`` points."""
    y = np.arange(30, dtype=np.float64)
    np.testing.assert_array_equal(periodic_pad(y, 12, 4), np.arange(18, 30))
