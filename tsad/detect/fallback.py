"""The band a series is served by when its model fit fails or runs out of time.

Seasonal naive: the last season repeated, widened by a robust scale (MAD) of
the season-on-season differences. Pure numpy and a few milliseconds, so it can
run on the event loop right after a failed fit: the hot path keeps scoring the
series (marked ``degraded``) while the next scheduled refit retries the model.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from tsad.detect.calibrate import level_quantile
from tsad.detect.online import StoredBand, refit_horizon
from tsad.prepare import prepare
from tsad.series import FloatArray, IntArray, season_length

MODEL_NAME = "fallback:seasonal-naive"
# MAD → standard deviation for normal residuals
_MAD_TO_SD = 1.4826


def robust_scale(diffs: FloatArray, y: FloatArray) -> float:
    """MAD of the differences; never zero (a flat history still gets a sliver of band)."""
    scale = 0.0
    if diffs.shape[0]:
        scale = _MAD_TO_SD * float(np.median(np.abs(diffs - np.median(diffs))))
        if scale == 0.0:
            scale = float(np.std(diffs))
    # never below a sliver of the series' scale: a spread of float noise (1e-16 of the
    # level) would round the band to its mean
    return max(scale, 1e-6 * max(1.0, float(np.max(np.abs(y)))))


def fallback_band(
    ts: IntArray, y: FloatArray, step_ms: int | None, level: float, min_points: int
) -> StoredBand:
    """A seasonal-naive band after the last point (raises NotEnoughPoints if too short)."""
    p = prepare(ts, y, step_ms=step_ms, min_points=min_points)
    hist = p.regular.y
    n = hist.shape[0]
    season = season_length(p.step_ms)
    m = season if n >= 2 * season else 1
    h = refit_horizon(p.step_ms)
    mean = hist[n - m + (np.arange(h) % m)].astype(np.float64)
    half = level_quantile(level) * robust_scale(hist[m:] - hist[:-m], hist)
    last = int(p.regular.ts[-1])
    return StoredBand(
        start=last + p.step_ms,
        step_ms=p.step_ms,
        level=level,
        mean=mean,
        lo=mean - half,
        hi=mean + half,
        model_used=MODEL_NAME,
        fitted_at=int(time.time() * 1000),
        history_last=int(p.raw.ts[-1]),
    )


def fallback_scorer(
    ts: IntArray, y: FloatArray, step_ms: int | None, level: float, min_points: int
) -> dict[str, Any]:
    """A series' scorer primed on its history against the seasonal-naive in-sample band
    (each point against the value one season before), so a series whose model failed
    is trusted like one whose model fitted."""
    from tsad.detect.flags import primed_state

    p = prepare(ts, y, step_ms=step_ms, min_points=min_points)
    hist = p.regular.y
    season = season_length(p.step_ms)
    m = season if hist.shape[0] >= 2 * season else 1
    mean = np.r_[np.full(m, np.nan), hist[:-m]]
    half = level_quantile(level) * robust_scale(hist[m:] - hist[:-m], hist)
    return primed_state(p.regular, mean, mean - half, mean + half, level, season)
