"""Self-calibrating causal anomaly scores: does this point break the series' own records?

A band-position score (``erf(|z|/√2)``) is a poor ranking across series:
residuals are heavy-tailed, so one series breaks |z| > 4 every hour while
another never does, and the score saturates at 1.0 past |z| ≈ 8.3. Here each
point is judged only against what *its own series* has already shown, through
four "record" channels, each a log ratio (scale-free, so one threshold serves
every series):

* **residual**: ``log(|z| / max recent |z|)`` with ``z`` the residual over the
  band's implied standard deviation — a point fitting worse than any recent one;
* **burst**: the same for the mean |z| of the last few points — a run of
  moderately bad fits (a spike train, a changed shape) that no single point shows;
* **seasonal**: ``log(|y − m| / max recent |y − m|)`` with ``m`` the median of
  the values one, two and three seasons back — a model-free twin of the
  residual channel that one past spike cannot bend (a forecaster's seasonal
  component can absorb a spike and then repeat it every season);
* **range**: how far the value leaves the range the series has ever taken,
  relative to its largest recent one-step move — a level shift that the
  forecaster quickly absorbs still stands out here. Leaving the all-time range
  is rare in itself, so the channel carries a fixed bonus (``RANGE_BONUS``).

"Recent" is the last ``memory`` points: the first, badly fitted refits age out,
and so do old regimes. The score is the logistic of the largest channel: monotone,
in (0, 1), kept at full precision (any threshold splits any two points). A point
no more surprising than one of the last ``refractory`` points is damped (kept
ranked, tiny): one incident, one alert. Each score depends only on the points
before it, so the scorer serves the online path too: keep one ``ResidualScorer``
per series and feed it arrivals.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from tsad.series import FloatArray

# below this many points a series has shown too little to judge by
WARMUP = 48
# extra log-odds for leaving the all-time range (rare by itself, unlike a bad fit)
RANGE_BONUS = 3.5
# points averaged by the burst channel
BURST = 6
# seasons back whose median is the seasonal channel's expected value
SEASONS_BACK = 3
# the floor of a log ratio: "nothing new here"
_NOTHING = -50.0
_TINY = 1e-12


class RunningMax:
    """Maximum of the last ``size`` values pushed (monotone deque, O(1) amortised)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._i = 0
        self._q: deque[tuple[int, float]] = deque()

    def max(self) -> float:
        """The maximum held (``-inf`` when empty)."""
        return self._q[0][1] if self._q else -math.inf

    def push(self, x: float) -> None:
        while self._q and self._q[-1][1] <= x:
            self._q.pop()
        self._q.append((self._i, x))
        self._i += 1
        while self._q[0][0] <= self._i - 1 - self.size:
            self._q.popleft()


def _log_ratio(x: float, past: float) -> float:
    """``log(x / past)``; ``_NOTHING`` when there is nothing to compare."""
    if not math.isfinite(past) or x <= 0:
        return _NOTHING
    return math.log(x / max(past, _TINY))


@dataclass
class ResidualScorer:
    """Per-series state for causal record scoring (feed points in time order)."""

    refractory: int = 72
    memory: int = 300  # points remembered: early, badly fitted residuals age out
    season: int = 1  # points per season (1: the seasonal channel compares with the last points)
    _n: int = 0
    _z: RunningMax = field(init=False)
    _burst: RunningMax = field(init=False)
    _jump: RunningMax = field(init=False)
    _seasonal: RunningMax = field(init=False)
    _history: deque[float] = field(default_factory=deque)
    _recent_z: deque[float] = field(default_factory=deque)
    _lo: float = math.inf
    _hi: float = -math.inf
    _last_y: float | None = None
    _recent: RunningMax = field(init=False)

    def __post_init__(self) -> None:
        self._z = RunningMax(self.memory)
        self._burst = RunningMax(self.memory)
        self._jump = RunningMax(self.memory)
        self._seasonal = RunningMax(self.memory)
        self._recent = RunningMax(self.refractory)

    def update(self, y: float, mean: float, sigma: float) -> float:
        """Score one point (``sigma``: the band's implied standard deviation) and learn it."""
        z = 0.0
        if math.isfinite(mean) and math.isfinite(sigma):
            dev = abs(y - mean)
            z = dev / sigma if sigma > 0 else (0.0 if dev == 0 else 1e6)
        self._recent_z.append(z)
        if len(self._recent_z) > BURST:
            self._recent_z.popleft()
        burst = sum(self._recent_z) / BURST if len(self._recent_z) == BURST else 0.0
        log_odds = max(_log_ratio(z, self._z.max()), _log_ratio(burst, self._burst.max()))
        dev = self._seasonal_deviation(y)
        log_odds = max(log_odds, _log_ratio(dev, self._seasonal.max()))
        self._seasonal.push(dev)
        if self._last_y is not None:
            beyond = max(y - self._hi, self._lo - y, 0.0)
            if beyond > 0:
                log_odds = max(log_odds, _log_ratio(beyond, self._jump.max()) + RANGE_BONUS)
            self._jump.push(abs(y - self._last_y))
        self._z.push(z)
        self._burst.push(burst)
        self._lo, self._hi = min(self._lo, y), max(self._hi, y)
        self._last_y = y
        self._n += 1
        if self._n <= WARMUP:
            log_odds = _NOTHING
        # one incident, one alert: no more surprising than a recent point → damped
        damp = log_odds <= self._recent.max()
        self._recent.push(log_odds)
        score = 1.0 / (1.0 + math.exp(-log_odds))
        return score * 1e-3 if damp else score

    def _seasonal_deviation(self, y: float) -> float:
        """|y − median of the values 1..SEASONS_BACK seasons back|; learns ``y``."""
        hist = self._history
        back = [
            hist[-k * self.season]
            for k in range(1, SEASONS_BACK + 1)
            if k * self.season <= len(hist)
        ]
        hist.append(y)
        if len(hist) > SEASONS_BACK * self.season:
            hist.popleft()
        return abs(y - _median(back)) if back else 0.0


def _median(xs: list[float]) -> float:
    """Median of a few values (numpy's call overhead dominates at this size)."""
    s = sorted(xs)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else 0.5 * (s[mid - 1] + s[mid])


def residual_scores(
    y: FloatArray,
    mean: FloatArray,
    sigma: FloatArray,
    *,
    refractory: int = 72,
    memory: int = 300,
    season: int = 1,
) -> FloatArray:
    """Score a whole stream in order (a point's score uses only earlier points)."""
    scorer = ResidualScorer(refractory=refractory, memory=memory, season=season)
    out = np.empty(y.shape[0], np.float64)
    for i in range(y.shape[0]):
        out[i] = scorer.update(float(y[i]), float(mean[i]), float(sigma[i]))
    return out
