"""M4 evaluation pieces: the Naive2 benchmark and the competition's accuracy
measures (sMAPE, MASE, OWA) plus interval measures (coverage, MSIS).

Naive2 (M4's reference): if the series is seasonal by a 90% autocorrelation test
at lag ``m``, divide out classical multiplicative seasonal indices, forecast the
last deseasonalised value flat, and multiply the indices back in.
"""

from __future__ import annotations

import numpy as np

from tsad.series import FloatArray

# one-sided 90% normal quantile used by M4's seasonality test
_TCRIT = 1.645


def acf(y: FloatArray, max_lag: int) -> FloatArray:
    """Sample autocorrelations at lags 1..max_lag (about the series mean)."""
    d = y - y.mean()
    denom = float(np.dot(d, d))
    if denom == 0:
        return np.zeros(max_lag)
    return np.array([float(np.dot(d[k:], d[:-k])) / denom for k in range(1, max_lag + 1)])


def is_seasonal(y: FloatArray, m: int) -> bool:
    """M4's test: |r_m| beyond the 90% limit with Bartlett's variance for lags < m."""
    if m <= 1 or y.shape[0] < 3 * m:
        return False
    r = acf(y, m)
    limit = _TCRIT * np.sqrt((1.0 + 2.0 * float(np.sum(r[:-1] ** 2))) / y.shape[0])
    return bool(abs(r[-1]) > limit)


def seasonal_indices(y: FloatArray, m: int) -> FloatArray:
    """Classical multiplicative decomposition: index per position ``t mod m``, mean 1."""
    n = y.shape[0]
    # even m: the centred 2×m moving average (weights 1/2m at both ends, 1/m inside)
    w = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    trend = np.convolve(y, w, mode="valid")
    half = (w.shape[0] - 1) // 2
    ratio = np.full(n, np.nan)
    ratio[half : half + trend.shape[0]] = y[half : half + trend.shape[0]] / trend
    idx = np.array([np.nanmean(ratio[p::m]) for p in range(m)])
    out: FloatArray = idx / idx.mean()
    return out


def naive2(y: FloatArray, h: int, m: int) -> FloatArray:
    """M4's Naive2 forecast of ``h`` steps."""
    n = y.shape[0]
    if not is_seasonal(y, m):
        return np.full(h, y[-1])
    s = seasonal_indices(y, m)
    level = y[-1] / s[(n - 1) % m]
    out: FloatArray = level * s[(n + np.arange(h)) % m]
    return out


def seasonal_scale(y: FloatArray, m: int) -> float:
    """MASE/MSIS denominator: in-sample mean absolute lag-``m`` difference."""
    return float(np.mean(np.abs(y[m:] - y[:-m])))


def msis(y: FloatArray, lo: FloatArray, hi: FloatArray, scale: float, level: float = 95.0) -> float:
    """Mean scaled interval score of one series' band."""
    alpha = 1.0 - level / 100.0
    penalty = (2.0 / alpha) * (np.maximum(lo - y, 0.0) + np.maximum(y - hi, 0.0))
    return float(np.mean((hi - lo) + penalty) / scale)


def owa(smape: float, mase: float, smape_naive2: float, mase_naive2: float) -> float:
    """Overall weighted average relative to Naive2 (both averaged over the subset first)."""
    return 0.5 * (smape / smape_naive2 + mase / mase_naive2)
