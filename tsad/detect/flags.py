"""From a band to what users act on: one score, one threshold, flags and the band
that matches them.

Every detection path (the hot path, the online replay, batch, the compatibility
routes) ends here, so ``score`` means the same everywhere: the causal record score
of ``tsad.detect.residual_score`` (how surprising the point is for its own series),
and ``is_anomaly`` is exactly ``score >= threshold``.

The band returned with each point is the one that matches the flag threshold for
the residual channel: ``expected ± σ · record · e^{threshold log-odds}`` — a point
outside it breaks the series' residual record by the margin the sensitivity asks
for. ``severity`` is the distance outside that band in band widths;
``direction`` is the side of a flagged point (0 when not flagged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tsad.detect.calibrate import level_quantile
from tsad.detect.residual_score import ScorerState, insample_reference, residual_scores
from tsad.detect.score import SMALL_BATCH
from tsad.detect.threshold import (
    DEFAULT_SENSITIVITY,
    capped_threshold,
    threshold_for,
    threshold_log_odds,
)
from tsad.series import FloatArray, IntArray, Scored, Series


@dataclass(frozen=True)
class Flagged:
    """Scored points, the threshold they were flagged at, and the scorer's final state."""

    scored: Scored
    threshold: float
    state: ScorerState


def primed_state(
    history: Series, mean: FloatArray, lo: FloatArray, hi: FloatArray, level: float, season: int
) -> dict[str, Any]:
    """A series' scorer state after running over its own history against an in-sample
    band (``history`` as the fit saw it, so its seasonal reference is clean): a series
    posted with its history, or served by a fallback band, is trusted at once."""
    flagged = flag_stream(
        history.ts,
        history.y,
        mean,
        lo,
        hi,
        level,
        insample_reference(history.y, season),
        season=season,
        sensitivity=DEFAULT_SENSITIVITY,
    )
    return flagged.state.to_state()


def flag_stream(
    ts: IntArray,
    y: FloatArray,
    mean: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    level: float,
    ref: FloatArray | None,
    *,
    season: int,
    sensitivity: float,
    max_anomaly_ratio: float | None = None,
    state: ScorerState | None = None,
    lower_bound: float | None = None,
) -> Flagged:
    """Score ``y`` (in time order) against its band at ``level`` and flag it.

    ``state`` continues a series' scorer (the hot path); ``lower_bound`` keeps the
    displayed band inside the range the series can take (0 for a count).
    """
    sigma = (hi - lo) / (2.0 * level_quantile(level))
    score, record, st = residual_scores(y, mean, sigma, ref, season=season, state=state)
    threshold = capped_threshold(score, threshold_for(sensitivity), max_anomaly_ratio)
    is_anomaly = score >= threshold
    margin = math.exp(threshold_log_odds(sensitivity))
    display = _small_display if y.shape[0] <= SMALL_BATCH else display_band
    d_lo, d_hi, severity, direction = display(
        y, mean, sigma * record, is_anomaly, margin, lower_bound
    )
    scored = Scored(
        ts=ts,
        value=y,
        expected=mean,
        lo=d_lo,
        hi=d_hi,
        is_anomaly=is_anomaly,
        direction=direction,
        score=score,
        severity=severity,
    )
    return Flagged(scored, threshold, st)


Display = tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.int8]]


def display_band(
    y: FloatArray,
    mean: FloatArray,
    spread: FloatArray,
    is_anomaly: npt.NDArray[np.bool_],
    margin: float,
    lower_bound: float | None,
) -> Display:
    """(lo, hi, severity, direction): the band that matches the flag threshold
    (``expected ± |spread| · margin``, ``spread`` = σ · the residual record, kept above
    ``lower_bound``), each point's distance outside it in band widths (capped at 1e9),
    and the side of each flag (0 when not flagged)."""
    with np.errstate(invalid="ignore"):
        half = np.abs(spread) * margin
        d_lo, d_hi = mean - half, mean + half
        if lower_bound is not None:
            d_lo = np.maximum(d_lo, lower_bound)
        width = d_hi - d_lo
        over = np.maximum(y - d_hi, 0.0) + np.maximum(d_lo - y, 0.0)
        severity = np.where(width > 0, over / np.where(width > 0, width, 1.0), 0.0)
    # NaN (no band) → 0; +inf is capped with the rest (cheaper than nan_to_num)
    severity[np.isnan(severity)] = 0.0
    side = np.sign(np.where(np.isnan(mean), 0.0, y - mean))
    direction = np.where(is_anomaly, side, 0).astype(np.int8)
    return d_lo, d_hi, np.minimum(severity, 1e9), direction


def _small_display(
    y: FloatArray,
    mean: FloatArray,
    spread: FloatArray,
    is_anomaly: npt.NDArray[np.bool_],
    margin: float,
    lower_bound: float | None,
) -> Display:
    """``display_band`` for a few points in plain Python floats (the hot path's
    single-point appends: numpy's per-call overhead is most of the cost there), with
    the same NaN rules."""
    lo_out: list[float] = []
    hi_out: list[float] = []
    sev_out: list[float] = []
    dir_out: list[int] = []
    rows = zip(y.tolist(), mean.tolist(), spread.tolist(), is_anomaly.tolist(), strict=True)
    for v, m, sp, flag in rows:
        half = abs(sp) * margin
        lo, hi = m - half, m + half
        if lower_bound is not None and not lo >= lower_bound and not math.isnan(lo):
            lo = lower_bound
        width = hi - lo
        over = max(v - hi, 0.0) + max(lo - v, 0.0) if not math.isnan(width) else math.nan
        sev = over / width if width > 0 else 0.0
        sev_out.append(0.0 if math.isnan(sev) else min(sev, 1e9))
        side = 0 if math.isnan(m) or v == m else (1 if v > m else -1)
        lo_out.append(lo)
        hi_out.append(hi)
        dir_out.append(side if flag else 0)
    return (
        np.array(lo_out, np.float64),
        np.array(hi_out, np.float64),
        np.array(sev_out, np.float64),
        np.array(dir_out, np.int8),
    )
