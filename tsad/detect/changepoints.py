"""Change points: where a series' level shifts, with a confidence for every point.

Two modes over one statistic (pure numpy plus ``ruptures``; no web imports):

* **offline** (``mode="batch"``): the season is removed (the per-phase median
  profile over the whole series when there are two periods), then ``ruptures``'
  kernel change-point search (linear kernel = least squares on the mean, exact
  PELT in C) segments the residual with a BIC-style penalty scaled by the noise
  (``PENALTY_FACTOR · σ² · log n``). Its breakpoints are the candidate change points.
* **online** (``mode="online"``, tsad's own rule): the season is removed causally
  (each point minus the median of the same phase in up to ``ONLINE_SEASONS``
  earlier periods) and a point is a change point when its local statistic is the
  largest within ``±window`` and its confidence reaches the threshold. A point's
  answer only reads points up to ``2·window`` after it, so it is final once those
  have arrived (``pending`` counts the last points still open).

The statistic, for every point ``i``: the two-sample z of the mean of the
``window`` points from ``i`` against the ``window`` points before it, in units of
the noise σ (robust: the MAD of first differences / √2, so level shifts do not
inflate it). Its ``confidence`` is the Šidák-adjusted probability that Gaussian
noise would not reach it anywhere in the series, ``erf(z/√2) ** (n / window)``:
near 0 for noise, near 1 for a real shift. A change point needs
``confidence >= threshold`` (Azure's ``threshold``, 0.01–0.99).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from tsad.series import BoolArray, FloatArray, IntArray

DEFAULT_WINDOW = 10
DEFAULT_THRESHOLD = 0.99
MIN_WINDOW = 3
PENALTY_FACTOR = 20.0
ONLINE_SEASONS = 5
_SQRT2 = float(np.sqrt(2.0))


@dataclass(frozen=True)
class ChangePoints:
    """Per-point confidence and flags, aligned with the input points."""

    ts: IntArray
    value: FloatArray
    confidence: FloatArray
    is_change_point: BoolArray
    period: int
    window: int
    threshold: float
    mode: str
    pending: int  # online: trailing points whose answer may still change

    @property
    def indices(self) -> IntArray:
        return np.flatnonzero(self.is_change_point).astype(np.int64)


def noise_sigma(r: FloatArray) -> float:
    """Robust noise scale: MAD of the first differences / √2 (level shifts barely move it)."""
    scale = max(1.0, float(np.max(np.abs(r)))) if r.size else 1.0
    if r.shape[0] < 3:
        return 1e-9 * scale
    d = np.diff(r)
    mad = float(np.median(np.abs(d - np.median(d))))
    sigma = 1.4826 * mad / _SQRT2
    if sigma <= 0:  # flat or step-only series: fall back to the mean absolute difference
        sigma = float(np.mean(np.abs(d))) / _SQRT2
    return max(sigma, 1e-9 * scale)


def local_sigma(r: FloatArray, window: int, floor: float) -> FloatArray:
    """Noise scale around each point: the robust σ of the first differences within
    ``[i - w, i + w]``, never below ``floor`` (the series-wide σ). Noise that grows
    with the level (a busy phase of the day) then does not read as a shift."""
    from numpy.lib.stride_tricks import sliding_window_view

    n = r.shape[0]
    width = 2 * window
    if n - 1 < width:
        return np.full(n, floor)
    d = np.diff(r)
    views = sliding_window_view(d, width)
    mad = np.median(np.abs(views - np.median(views, axis=1, keepdims=True)), axis=1)
    sig = 1.4826 * mad / _SQRT2  # sig[j] covers d[j : j + 2w], centred on point j + w
    out = np.full(n, floor)
    centre = np.arange(sig.shape[0]) + window
    out[centre] = np.maximum(sig, floor)
    out[:window] = out[window]
    out[centre[-1] + 1 :] = out[centre[-1]]
    return out


def deseason(y: FloatArray, period: int) -> FloatArray:
    """``y`` minus its per-phase median profile (two periods needed), else minus its median."""
    n = y.shape[0]
    if period <= 1 or n < 2 * period:
        return y - np.median(y)
    phase = np.arange(n) % period
    pad = (-n) % period
    grid = np.concatenate([y, np.full(pad, np.nan)]).reshape(-1, period)
    profile: FloatArray = np.nanmedian(grid, axis=0)
    out: FloatArray = y - profile[phase]
    return out


def deseason_causal(y: FloatArray, period: int, seasons: int = ONLINE_SEASONS) -> FloatArray:
    """Each point minus the median of the same phase in up to ``seasons`` earlier periods
    (the first period, which has none, minus the running median of what came before)."""
    n = y.shape[0]
    if period <= 1 or n <= period:
        return y - (np.median(y[: min(n, 12)]) if n else 0.0)
    lagged = np.full((seasons, n), np.nan)
    for k in range(1, seasons + 1):
        lag = k * period
        if lag < n:
            lagged[k - 1, lag:] = y[: n - lag]
    out = np.empty(n)
    have = ~np.all(np.isnan(lagged), axis=0)
    with np.errstate(all="ignore"):
        out[have] = y[have] - np.nanmedian(lagged[:, have], axis=0)
    head = np.flatnonzero(~have)
    out[head] = y[head] - np.median(y[: max(1, min(period, 12))])
    return out


def local_z(r: FloatArray, window: int, sigma: float | FloatArray) -> FloatArray:
    """Robust two-sample z for every i: the median of r[i:i+w] against the median of
    r[i-w:i] (edges truncated), so isolated spikes inside a window do not count as a
    shift. The variance of a median of m Gaussian points is (π/2)·σ²/m."""
    n = r.shape[0]
    z = np.zeros(n)
    if n < 2:
        return z
    from numpy.lib.stride_tricks import sliding_window_view

    w = min(window, n)
    med = np.median(sliding_window_view(r, w), axis=1)  # med[j] = median(r[j:j+w])
    i = np.arange(n)
    full = (i >= w) & (i + w <= n)
    before = np.empty(n)
    after = np.empty(n)
    before[full] = med[i[full] - w]
    after[full] = med[i[full]]
    n1 = np.full(n, w, dtype=np.float64)
    n2 = np.full(n, w, dtype=np.float64)
    for k in np.flatnonzero(~full & (i > 0)):  # the 2w edge points: truncated windows
        a, b = r[max(0, k - w) : k], r[k : k + w]
        before[k], after[k], n1[k], n2[k] = np.median(a), np.median(b), a.size, b.size
    ok = i > 0
    sig = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (n,))
    scale = sig[ok] * np.sqrt(np.pi / 2 * (1.0 / n1[ok] + 1.0 / n2[ok]))
    z[ok] = np.abs(after[ok] - before[ok]) / scale
    return z


def confidence_of(z: FloatArray, n: int, window: int) -> FloatArray:
    """Šidák-adjusted confidence: erf(z/√2) raised to the number of independent windows."""
    tests = max(1.0, n / window)
    with np.errstate(under="ignore"):
        return np.asarray(np.power(erf(z / _SQRT2), tests), dtype=np.float64)


def _segment_z(r: FloatArray, breaks: list[int], sigma: float) -> dict[int, float]:
    """z of each breakpoint from the means of its two adjacent segments."""
    edges = [0, *breaks, r.shape[0]]
    out: dict[int, float] = {}
    for k, b in enumerate(breaks, start=1):
        left, right = r[edges[k - 1] : b], r[b : edges[k + 1]]
        if left.size and right.size:
            diff = abs(float(right.mean()) - float(left.mean()))
            out[b] = diff / (sigma * float(np.sqrt(1.0 / left.size + 1.0 / right.size)))
    return out


def offline_breaks(r: FloatArray, window: int, sigma: float) -> list[int]:
    """Breakpoints of ``r`` from ruptures' kernel change-point search (linear kernel).

    PELT's cost grows towards n² when changes are few, so the search runs on block
    means of ``window // 2`` points (noise σ/√b) and each breakpoint is then placed
    on the exact point within its block where the step is largest."""
    import ruptures as rpt

    n = r.shape[0]
    if n < 2 * window:
        return []
    b = max(1, window // 2)
    m = n // b
    blocks = r[: m * b].reshape(m, b).mean(axis=1)
    min_size = max(2, window // b)
    if m < 2 * min_size:
        return []
    algo = rpt.KernelCPD(kernel="linear", min_size=min_size).fit(blocks.reshape(-1, 1))
    penalty = PENALTY_FACTOR * (sigma * sigma / b) * float(np.log(m))
    out: list[int] = []
    c = np.concatenate([[0.0], np.cumsum(r)])
    for k in algo.predict(pen=penalty):
        if not 0 < k < m:
            continue
        lo, hi = max(1, (k - 1) * b), min(n - 1, (k + 1) * b)
        cand = np.arange(lo, hi + 1)
        left = (c[cand] - c[np.maximum(cand - window, 0)]) / np.minimum(cand, window)
        right = (c[np.minimum(cand + window, n)] - c[cand]) / np.minimum(n - cand, window)
        out.append(int(cand[np.argmax(np.abs(right - left))]))
    return sorted(set(out))


def check_params(n: int, window: int, threshold: float) -> None:
    from tsad.errors import InvalidInput

    if not isinstance(window, int) or isinstance(window, bool) or window < MIN_WINDOW:
        raise InvalidInput(f"window must be an integer >= {MIN_WINDOW}, got {window!r}")
    if 2 * window > n:
        raise InvalidInput(f"window must be at most half the series ({n // 2}), got {window}")
    if not 0.0 < float(threshold) < 1.0:
        raise InvalidInput(f"threshold must lie in (0, 1), got {threshold!r}")


def detect_changepoints(
    ts: IntArray,
    y: FloatArray,
    *,
    period: int,
    window: int = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
    mode: str = "batch",
) -> ChangePoints:
    """Confidence for every point and the change points (see the module docstring)."""
    n = y.shape[0]
    check_params(n, window, threshold)
    if mode == "online":
        r = deseason_causal(y, period)
        sigma = noise_sigma(r)
        z = local_z(r, window, local_sigma(r, window, sigma))
        conf = confidence_of(z, n, window)
        flags = _local_maxima(z, window) & (conf >= threshold)
        if period > 1:  # warm-up: no earlier period to take the season from yet
            flags[: min(n, period + window)] = False
            conf[: min(n, period + window)] = 0.0
        pending = min(n, 2 * window)
    else:
        r = deseason(y, period)
        sigma = noise_sigma(r)
        z = local_z(r, window, local_sigma(r, window, sigma))
        conf = confidence_of(z, n, window)
        flags = np.zeros(n, bool)
        for b, zb in _segment_z(r, offline_breaks(r, window, sigma), sigma).items():
            # both must hold: a shift of the segment means (ruptures) that the robust
            # local statistic confirms (spike bursts move means, not medians)
            segment = float(confidence_of(np.array([zb]), n, window)[0])
            flags[b] = min(segment, float(conf[b])) >= threshold
        pending = 0
    return ChangePoints(
        ts=ts,
        value=y,
        confidence=np.clip(conf, 0.0, 1.0),
        is_change_point=flags,
        period=period if period > 1 and n >= 2 * period else 0,
        window=window,
        threshold=float(threshold),
        mode=mode,
        pending=pending,
    )


def _local_maxima(z: FloatArray, window: int) -> BoolArray:
    """``z[i]`` is the first largest value within ``[i - w, i + w]`` (one flag per shift)."""
    from numpy.lib.stride_tricks import sliding_window_view

    n = z.shape[0]
    padded = np.concatenate([np.full(window, -np.inf), z, np.full(window, -np.inf)])
    views = sliding_window_view(padded, 2 * window + 1)
    peak = np.argmax(views, axis=1) == window  # argmax returns the first maximum
    return np.asarray(peak & (z > 0)) if n else np.zeros(0, bool)


@dataclass(frozen=True)
class ChangePointOutcome:
    """Change points of the input points, and what was done to the input."""

    result: ChangePoints
    freq: str
    filled: int
    duplicates: int
    unsorted: bool


def changepoint_job(
    min_points: int,
    ts: IntArray,
    y: FloatArray,
    freq: str | None,
    period: int | None,
    window: int,
    threshold: float,
    mode: str,
) -> ChangePointOutcome:
    """Clean and regularise (as detection does), find change points on the grid, and
    answer for the input points. ``period`` None = the natural season of the step."""
    from tsad.errors import InvalidInput
    from tsad.prepare import prepare
    from tsad.series import season_length

    if mode not in ("batch", "online"):
        raise InvalidInput(f"mode must be 'batch' or 'online', got {mode!r}")
    if period is not None and (isinstance(period, bool) or period < 0):
        raise InvalidInput(f"period must be an integer >= 0, got {period!r}")
    p = prepare(ts, y, freq=freq, min_points=min_points)
    season = season_length(p.step_ms) if period is None else period
    grid = detect_changepoints(
        p.regular.ts, p.regular.y, period=season, window=window, threshold=threshold, mode=mode
    )
    idx = p.slots
    # a change point found on a filled slot belongs to the next observed point
    flags = np.zeros(idx.shape[0], bool)
    for b in grid.indices:
        k = int(np.searchsorted(idx, b, side="left"))
        if k < idx.shape[0]:
            flags[k] = True
    result = ChangePoints(
        ts=p.raw.ts,
        value=p.raw.y,
        confidence=np.maximum(grid.confidence[idx], np.where(flags, threshold, 0.0)),
        is_change_point=flags,
        period=grid.period,
        window=window,
        threshold=grid.threshold,
        mode=mode,
        pending=int(np.count_nonzero(idx >= idx[-1] - grid.pending + 1)) if grid.pending else 0,
    )
    return ChangePointOutcome(result, p.freq, p.filled, p.duplicates, p.unsorted)
