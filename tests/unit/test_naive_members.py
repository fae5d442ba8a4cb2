"""Seasonal-naive ensemble members (``tsad.models.naive``)."""

from __future__ import annotations

import numpy as np

from tsad.models.naive import lagged, seasonal_naive_members

HOUR = 3_600_000
DAY = 86_400_000


def test_lagged_repeats_the_last_lag_values_past_the_lag() -> None:
    """Step k is the value lag steps before it; a short lag cycles its last values."""
    y = np.arange(10.0)
    np.testing.assert_array_equal(lagged(y, 3, 5), [7.0, 8.0, 9.0, 7.0, 8.0])
    np.testing.assert_array_equal(lagged(y, 6, 4), [4.0, 5.0, 6.0, 7.0])


def test_hourly_series_gets_the_last_day_and_the_two_weeks_mean() -> None:
    """Hourly: the last 24 repeated, and the mean of the same hour 1 and 2 weeks back."""
    y = np.arange(24 * 14, dtype=np.float64)
    day, weeks = seasonal_naive_members(y, HOUR, 48)
    np.testing.assert_array_equal(day, np.tile(y[-24:], 2))
    np.testing.assert_array_equal(weeks, (y[-168 : -168 + 48] + y[:48]) / 2)


def test_members_need_enough_history_and_a_season() -> None:
    """Under two weeks only the daily member; under a season or no season: none."""
    assert len(seasonal_naive_members(np.ones(24 * 13), HOUR, 24)) == 1
    assert seasonal_naive_members(np.ones(20), HOUR, 24) == []
    # daily data: the season is a week, and there is no weekly-of-days member
    assert len(seasonal_naive_members(np.ones(400), DAY, 7)) == 1
    assert seasonal_naive_members(np.ones(50), 7 * DAY, 4) == []
