"""Pure scoring: values against a band → flags, direction, score and severity.

No model runs here; this is the O(1)-per-point heart of the hot path.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from tsad.detect.calibrate import level_quantile
from tsad.series import FloatArray, IntArray, Scored

_SQRT2 = float(np.sqrt(2.0))
_TOL = 1e-9  # relative slack for float noise at the band's edge


# below this many points, plain Python beats numpy's per-call overhead (~10x for one point)
SMALL_BATCH = 8


def score_against_band(
    ts: IntArray,
    y: FloatArray,
    mean: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    level: float,
) -> Scored:
    """Score each value against its band at ``level`` percent.

    * ``is_anomaly``: the value lies outside ``[lo, hi]``.
    * ``direction``: 1 above the band, -1 below, 0 inside.
    * ``score`` in [0, 1]: ``erf(|z|/√2)``, the central-interval probability the
      value sits at, where z is the distance from ``mean`` in units of the band's
      implied standard deviation on that side (so asymmetric bands are honoured).
      A value on the band's edge scores ``level/100``.
    * ``severity``: distance outside the band in band widths (0 inside).

    Points whose band is NaN (none stored yet) are not flagged and score 0.
    """
    if ts.shape[0] <= SMALL_BATCH:
        return _score_small(ts, y, mean, lo, hi, level)
    zl = level_quantile(level)
    upper = y >= mean
    half = np.where(upper, hi - mean, mean - lo)
    sigma = np.maximum(half, 0.0) / zl
    dist = np.abs(y - mean)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = np.where(sigma > 0, dist / sigma, np.where(dist > 0, np.inf, 0.0))
        width = hi - lo
        over = np.maximum(y - hi, 0.0) + np.maximum(lo - y, 0.0)
        severity = np.where(width > 0, over / width, np.where(over > 0, np.inf, 0.0))
    score = erf(z / _SQRT2)
    known = ~(np.isnan(mean) | np.isnan(lo) | np.isnan(hi))
    # a point equal to the band's edge up to rounding is inside (zero-width bands)
    tol = _TOL * np.maximum(1.0, np.abs(mean))
    above = known & (y > hi + tol)
    below = known & (y < lo - tol)
    direction = np.where(above, 1, np.where(below, -1, 0)).astype(np.int8)
    score = np.where(known, score, 0.0)
    severity = np.where(known, np.minimum(severity, 1e9), 0.0)
    return Scored(
        ts=ts,
        value=y,
        expected=mean,
        lo=lo,
        hi=hi,
        is_anomaly=above | below,
        direction=direction,
        score=score,
        severity=severity,
    )


def _score_one(
    y: float, mean: float, lo: float, hi: float, zl: float
) -> tuple[bool, int, float, float]:
    """The same rule as the vectorised path, for one point: (flag, direction, score, severity)."""
    if math.isnan(mean) or math.isnan(lo) or math.isnan(hi):
        return False, 0, 0.0, 0.0
    half = (hi - mean) if y >= mean else (mean - lo)
    sigma = max(half, 0.0) / zl
    dist = abs(y - mean)
    z = dist / sigma if sigma > 0 else (math.inf if dist > 0 else 0.0)
    score = math.erf(z / _SQRT2) if math.isfinite(z) else 1.0
    over = max(y - hi, 0.0) + max(lo - y, 0.0)
    width = hi - lo
    severity = over / width if width > 0 else (math.inf if over > 0 else 0.0)
    tol = _TOL * max(1.0, abs(mean))
    direction = 1 if y > hi + tol else (-1 if y < lo - tol else 0)
    return direction != 0, direction, score, min(severity, 1e9)


def _score_small(
    ts: IntArray, y: FloatArray, mean: FloatArray, lo: FloatArray, hi: FloatArray, level: float
) -> Scored:
    zl = level_quantile(level)
    rows = [
        _score_one(float(a), float(b), float(c), float(d), zl)
        for a, b, c, d in zip(y.tolist(), mean.tolist(), lo.tolist(), hi.tolist(), strict=True)
    ]
    return Scored(
        ts=ts,
        value=y,
        expected=mean,
        lo=lo,
        hi=hi,
        is_anomaly=np.array([r[0] for r in rows], bool),
        direction=np.array([r[1] for r in rows], np.int8),
        score=np.array([r[2] for r in rows], np.float64),
        severity=np.array([r[3] for r in rows], np.float64),
    )
