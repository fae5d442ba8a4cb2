"""Seasonal-naive forecasts: members of the ``ensemble`` that need no fit.

Alone they are weak (M4 Hourly hold-out: OWA 0.63 for the last day repeated, 1.13
for the mean of the same hour one and two weeks before), but their errors differ
from the fitted members', so they pull the ensemble's median towards the truth:
with both, the ensemble went from OWA 0.440 to 0.423 (benchmarks/ensemble_search.py;
benchmarks/README.md, "M4 Hourly").
"""

from __future__ import annotations

import numpy as np

from tsad.series import FloatArray, season_length

_DAY_MS = 86_400_000
_WEEK_DAYS = 7


def lagged(y: FloatArray, lag: int, h: int) -> FloatArray:
    """Step k of ``h`` is the value ``lag`` steps before it (the last ``lag`` values
    repeat when ``lag`` < ``h``)."""
    n = y.shape[0]
    return np.asarray(y[n - lag + np.arange(h) % lag], np.float64)


def seasonal_naive_members(y: FloatArray, step_ms: int, h: int) -> list[FloatArray]:
    """The last season repeated and, when the season is a day, the mean of the same
    step one and two weeks before — each only when ``y`` is long enough for it."""
    season = season_length(step_ms)
    out: list[FloatArray] = []
    if season < 2 or y.shape[0] < season:
        return out
    out.append(lagged(y, season, h))
    week = _WEEK_DAYS * season
    if season * step_ms == _DAY_MS and y.shape[0] >= 2 * week:
        out.append((lagged(y, week, h) + lagged(y, 2 * week, h)) / 2)
    return out
