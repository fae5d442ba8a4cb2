"""Robust fitting for detection: anomalies must not teach the next fit.

Before a detection path fits any model (the hot path's refit, the online replay,
batch detection, priming a scorer), the history is cleaned here, model-agnostic:

* points more than ``OUTLIER_Z`` robust σ from the same phase of the neighbouring
  seasons, in short runs, are replaced by that seasonal median — one spike gives one
  flag, never a ghost every season after (a fitted seasonal component absorbs a spike
  and repeats it; a median of the neighbouring seasons does not);
* the largest abrupt level shift that lasts is aligned (the history before it moved
  to the new level), so the band re-anchors at the next refit instead of widening for
  the whole fit window.

Forecasts (``/v1/forecast``) fit the raw history: on M4 Hourly the cleaning costs
``stats`` 0.04 OWA (benchmarks/README.md), and a forecast user asked for that history.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tsad.detect.residual_score import lagged_median
from tsad.series import FloatArray, Series, season_length, seasons_for


def robust_history(history: Series, step_ms: int) -> Series:
    """``history`` with the last abrupt level shift aligned and outliers replaced."""
    season = season_length(step_ms)
    # deseasonalised by every season the model will fit: a weekly pattern left in
    # (a weekend) looked like an abrupt shift and moved the whole history by it
    longer = max([0, *(p for p in seasons_for(step_ms, history.y.shape[0]) if p > season)])
    # aligned first: next to an unaligned shift the neighbouring seasons mix two levels,
    # and the points between them would be "cleaned" to a level the series never had
    aligned, _ = align_level_shift(history.y, season, longer)
    _, clean = outliers(aligned, season)
    return Series(history.ts, clean)


#: a point this many robust σ (MAD) off its neighbouring seasons is an outlier the
#: refit must not learn. Chosen by leave-one-folder-out cross-validation on NAB among
#: 5, 6.5, 8 and 12 (every folder picks 12; benchmarks/README.md): cleaning points
#: that are merely unusual teaches the refit a band too narrow for the series' own
#: recurring spikes, which then flag.
OUTLIER_Z = 12.0


def seasonal_baseline(y: FloatArray, season: int) -> FloatArray:
    """Per point, the median of the same phase one to three seasons either side (the
    point itself left out; neighbouring points for a series with no season): a
    baseline one spike cannot bend, unlike a fitted seasonal component."""
    return lagged_median(y, season if season > 1 else 1, (-3, -2, -1, 1, 2, 3))


def outliers(y: FloatArray, season: int) -> tuple[npt.NDArray[np.bool_], FloatArray]:
    """Points the refit must not learn, and the values to learn instead.

    A point is an outlier when it lies past ``OUTLIER_Z`` robust σ from its seasonal
    baseline, in a run no longer than a twelfth of a season (at least 3 points).
    Longer runs are a changed regime the model must follow. A short run at the very end
    is cleaned too: if it is the start of a new level, it outgrows ``max_run`` within
    a twelfth of a season and the refit after that learns it."""
    base = seasonal_baseline(y, season)
    resid = y - base
    ok = np.isfinite(resid)
    none = np.zeros(y.shape[0], bool)
    if ok.sum() < 10:
        return none, y
    med = float(np.median(resid[ok]))
    mad = 1.4826 * float(np.median(np.abs(resid[ok] - med)))
    if mad <= 0:
        return none, y
    far = ok & (np.abs(resid - med) > OUTLIER_Z * mad)
    max_run = max(3, season // 12)
    mask = none.copy()
    idx = np.flatnonzero(np.diff(np.r_[0, far.astype(np.int8), 0]))
    for start, stop in zip(idx[::2], idx[1::2], strict=True):
        if stop - start <= max_run:
            mask[start:stop] = True
    return mask, np.where(mask, base, y)


#: a level shift must stand this many noise σ clear of chance (two-sample t-like)
SHIFT_T = 12.0


def align_level_shift(y: FloatArray, season: int, longer: int = 0) -> tuple[FloatArray, bool]:
    """Find the largest abrupt level shift in ``y`` (deseasonalised by the median of
    each phase of ``season``, then of ``longer`` — a weekly season — when given) and
    move the points before it by the shift, so a model sees one level.

    A shift counts when it stands ``SHIFT_T`` noise σ (robust, from first differences)
    clear, is at least 4 σ, is abrupt (the points right around it carry at least 80% of
    it: a steady trend is no shift) and lasts (the latest points still hold at least
    half of the jump: an excursion that came back is an anomaly, and aligning the past
    to it blew the band up for the next refit). Returns (aligned y, whether it shifted)."""
    n = y.shape[0]
    m = max(6, season // 4)
    if n < 4 * m:
        return y, False
    x = y.astype(np.float64)
    for period in (season, longer):
        if period > 1 and (period == season or n >= 2 * period):
            phase = np.arange(n) % period
            med = np.array([np.median(x[phase == p]) for p in range(period)])
            x = x - med[phase]
    d = np.diff(x)
    sigma = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(2.0)
    if sigma <= 0:
        return y, False
    c = np.r_[0.0, np.cumsum(x)]
    s = np.arange(m, n - m + 1)
    before = c[s] / s
    after = (c[n] - c[s]) / (n - s)
    delta = after - before
    t = np.abs(delta) / (sigma * np.sqrt(1.0 / s + 1.0 / (n - s)))
    i = int(np.argmax(t))
    cut, shift = int(s[i]), float(delta[i])
    local = float(np.mean(x[cut : cut + m]) - np.mean(x[cut - m : cut]))
    if t[i] < SHIFT_T or abs(shift) < 4 * sigma or abs(local) < 0.8 * abs(shift):
        return y, False
    # a shift must last: the series' latest points still sit at the new level (an
    # excursion that has returned is an anomaly, not a new level to align the past to)
    held = float(np.median(x[n - m :]) - np.median(x[cut - m : cut]))
    if held * local <= 0 or abs(held) < 0.5 * abs(local):
        return y, False
    out = y.astype(np.float64).copy()
    out[:cut] += local  # the jump itself: a trend on either side stays a trend
    return out, True
