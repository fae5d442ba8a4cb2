"""Self-calibrating causal anomaly scores from forecast residuals.

A band-position score (``erf(|z|/√2)``) is a poor ranking across series:
residuals are heavy-tailed, so one series breaks |z| > 4 every hour while
another never does, and the score saturates at 1.0 past |z| ≈ 8.3. Here each
point is judged against what *its own series* has already shown:

* ``z`` = residual over the band's implied standard deviation;
* its tail probability ``p`` among the series' past |z| (empirical rank inside
  the range seen so far; past the largest value seen, an exponential tail
  fitted to the largest past values extrapolates, so a record-breaking point is
  ranked by *how far* it breaks the record);
* the value's own novelty: a value beyond the series' past range by a margin is
  scored the same way against past one-step changes (level shifts that a
  forecaster quickly absorbs still stand out here);
* a point no more surprising than one of the last ``refractory`` points is
  damped (one incident, one alert);
* only the last ``memory`` points are remembered, so the badly fitted first
  refits (and old regimes) age out.

The score is ``L/(1+L)`` with ``L = -ln p``: monotone in ``p``, in [0, 1), and
never saturating to ties, so any threshold can split any two points. Each
score depends only on the points before it (prefix-stable), so it is usable on
the online path: keep ``ResidualScorer`` per series and feed it arrivals.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from tsad.series import FloatArray

# the largest past |z| values used to fit the extrapolated tail
_TAIL = 20
# below this many past residuals a series has shown too little to judge by
_WARMUP = 48


@dataclass
class ResidualScorer:
    """Per-series state for causal residual scoring (feed points in time order)."""

    refractory: int = 72
    memory: int = 600  # past points remembered: early, badly fitted residuals age out
    _past: list[float] = field(default_factory=list)  # sorted recent |z|
    _jumps: list[float] = field(default_factory=list)  # sorted recent |Δy|
    _order_z: deque[float] = field(default_factory=deque)
    _order_j: deque[float] = field(default_factory=deque)
    _lo: float = math.inf
    _hi: float = -math.inf
    _last_y: float | None = None
    _recent: deque[float] = field(default_factory=deque)

    def update(self, y: float, mean: float, sigma: float) -> float:
        """Score one point (``sigma``: the band's implied standard deviation) and learn it."""
        p = 1.0
        if math.isfinite(mean) and math.isfinite(sigma):
            dev = abs(y - mean)
            z = dev / sigma if sigma > 0 else (0.0 if dev == 0 else 1e6)
            p = min(p, _tail_probability(self._past, z))
            _remember(self._past, self._order_z, z, self.memory)
        if self._last_y is not None:
            beyond = max(y - self._hi, self._lo - y, 0.0)
            if beyond > 0:
                p = min(p, _tail_probability(self._jumps, beyond))
            _remember(self._jumps, self._order_j, abs(y - self._last_y), self.memory)
        self._lo, self._hi = min(self._lo, y), max(self._hi, y)
        self._last_y = y
        log_p = max(0.0, -math.log(max(p, 1e-300)))
        # one incident, one alert: a point no more surprising than one of the last
        # ``refractory`` points adds nothing new and is damped (kept ranked, tiny)
        damp = bool(self._recent) and log_p <= max(self._recent)
        self._recent.append(log_p)
        if len(self._recent) > self.refractory:
            self._recent.popleft()
        score = log_p / (1.0 + log_p)
        return score * 1e-3 if damp else score


def _remember(sorted_vals: list[float], order: deque[float], x: float, memory: int) -> None:
    """Add ``x``; forget the oldest value once ``memory`` are held."""
    bisect.insort(sorted_vals, x)
    order.append(x)
    if len(order) > memory:
        old = order.popleft()
        del sorted_vals[bisect.bisect_left(sorted_vals, old)]


def _tail_probability(past: list[float], x: float) -> float:
    """P(X ≥ x) from the sorted past sample; exponential extrapolation past its max."""
    n = len(past)
    if n < _WARMUP:
        return 1.0
    above = n - bisect.bisect_left(past, x)
    if above > 0:
        return (above + 1) / (n + 1)
    k = min(_TAIL, n)
    top = past[-k:]
    u = top[0]
    scale = max(sum(top) / k - u, 1e-12)
    return (k / (n + 1)) * math.exp(-(x - u) / scale) if x > u else k / (n + 1)


def residual_scores(
    y: FloatArray,
    mean: FloatArray,
    sigma: FloatArray,
    *,
    refractory: int = 72,
    memory: int = 600,
) -> FloatArray:
    """Score a whole stream in order (a point's score uses only earlier points)."""
    scorer = ResidualScorer(refractory=refractory, memory=memory)
    out = np.empty(y.shape[0], np.float64)
    for i in range(y.shape[0]):
        out[i] = scorer.update(float(y[i]), float(mean[i]), float(sigma[i]))
    return out
