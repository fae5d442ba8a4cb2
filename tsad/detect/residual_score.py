"""Self-calibrating causal anomaly scores: does this point break its series' own records?

A band-position score (``erf(|z|/√2)``) is a poor ranking across series:
residuals are heavy-tailed, so one series breaks |z| > 4 every hour while
another never does, and the score saturates at 1.0 past |z| ≈ 8.3. Here each
point is judged only against what *its own series* has already shown, through
four "record" channels, each a log ratio (scale-free, so one threshold serves
every series):

* **residual**: ``log(|z| / record |z|)`` with ``z`` the residual over the band's
  implied standard deviation — a point fitting worse than any recent one;
* **burst**: the same for the mean |z| of the last ``BURST`` points — a run of
  moderately bad fits (a spike train, a changed shape) that no single point shows;
* **seasonal**: ``log(|y − r| / record)`` with ``r`` the median of the values one,
  two and three seasons back (``seasonal_reference``) — a model-free twin of the
  residual channel that one past spike cannot bend;
* **range**: how far the value leaves the range the series has taken, relative to its
  largest recent one-step move, plus ``RANGE_BONUS`` (leaving the range is rare in
  itself), once ``RANGE_MIN_POINTS`` have shown the range — a level shift the
  forecaster quickly absorbs still stands out here. (Asking for 3 points in a row past
  the range was measured and lost 2.8 NAB points: benchmarks/README.md.)

Records *decay*: each is multiplied by ``2^(-1/HALF_LIFE)`` per point, so early,
badly fitted refits and old regimes fade, and the whole state is a handful of
floats (``ScorerState``): the hot path keeps one per series in the buffer and the
online replay runs the very same update, so a score means the same on both.
Deviations below ``FLOOR`` of the series' range are float noise and never look
new; the residual channels' records never count as lower than ``RECORD_FLOOR`` σ.

The score is the logistic of the largest channel: monotone, in (0, 1), full
precision. A point no more surprising than an incident of the last
``REFRACTORY`` points is damped (×``DAMP``): one incident, one alert. Once an
incident has alarmed (reached ``ALARM_LOG_ODDS``), a later point of it must beat it
by ``REFIRE_MARGIN`` to score in full: a fault that keeps worsening by a little does
not page again at every step. During the
warm-up (``warmup_points``) every score is damped too: a series raises no flag
before its model can be trusted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from tsad.series import FloatArray

# extra log-odds for leaving the range the series has shown
RANGE_BONUS = 3.5
# points seen before leaving the range counts: at n points a stationary series
# still sets a new extreme about once in n
RANGE_MIN_POINTS = 200
# points averaged by the burst channel
BURST = 6
# seasons back whose median is the seasonal channel's reference
SEASONS_BACK = 3
# points after which a record has decayed to half
HALF_LIFE = 300.0
# points after an incident during which no weaker surprise scores in full
REFRACTORY = 72
# log of how much an incident may raise the records above what they held before it
INCIDENT_LEARN = 1.0
# an incident that reached this log-odds (the flag threshold at the default sensitivity,
# 95) has alarmed: for the rest of it a point scores in full only if it beats the
# incident by REFIRE_MARGIN log-odds. Chosen by leave-one-folder-out on NAB
# (benchmarks/README.md: flags 64.07 → 67.74 held out, ranking 65.18 → 66.69 held out)
ALARM_LOG_ODDS = 0.5
REFIRE_MARGIN = 3.0
# factor applied to damped scores (kept ranked, never alarming)
DAMP = 1e-3
# fraction of the series' range below which a deviation is float noise
FLOOR = 1e-3
# records never count as lower than this many band σ: a calm stretch does not make
# an ordinary wiggle look new
RECORD_FLOOR = 1.0
# fewest points scored before a series is trusted (two seasons when it has one)
MIN_WARMUP = 48
# seasons a series is scored on before it is trusted (``benchmarks/nab_cv.py
# --warmup-seasons`` measures others), at most ``MAX_WARMUP`` points
WARMUP_SEASONS = 2
MAX_WARMUP = 576
_NOTHING = -50.0
_TINY = 1e-12


def warmup_points(season: int) -> int:
    """Points a series must be scored on before it may raise a flag: ``WARMUP_SEASONS``
    (two) seasons, at least ``MIN_WARMUP``, at most ``MAX_WARMUP`` (two days of 5-minute
    data; minute data would otherwise wait two days)."""
    if season <= 1:
        return MIN_WARMUP
    return max(MIN_WARMUP, min(WARMUP_SEASONS * season, MAX_WARMUP))


def _log_ratio(x: float, record: float) -> float:
    """``log(x / record)``; ``_NOTHING`` when there is nothing to compare."""
    if x <= 0 or not math.isfinite(record):
        return _NOTHING
    return math.log(x / max(record, _TINY))


@dataclass
class ScorerState:
    """One series' scorer: a few floats, JSON-able (``to_state``/``from_state``)."""

    season: int = 1
    n: int = 0
    rec_z: float = -math.inf
    rec_burst: float = -math.inf
    rec_seasonal: float = -math.inf
    rec_jump: float = -math.inf
    lo: float = math.inf
    hi: float = -math.inf
    last_y: float | None = None
    incident: float = -math.inf  # log-odds of the last undamped surprise
    incident_age: int = 0
    # the records when the current incident began (their learning is capped from there)
    base_z: float = -math.inf
    base_burst: float = -math.inf
    base_seasonal: float = -math.inf
    recent_z: list[float] = field(default_factory=list)

    def to_state(self) -> dict[str, Any]:
        """Plain JSON (infinities as None)."""
        # by hand, not dataclasses.asdict: that deep-copies, and this runs per append
        out = {k: getattr(self, k) for k in _FIELDS}
        out = {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in out.items()}
        out["recent_z"] = list(self.recent_z)
        return out

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ScorerState:
        neg = {
            "rec_z",
            "rec_burst",
            "rec_seasonal",
            "rec_jump",
            "hi",
            "incident",
            "base_z",
            "base_burst",
            "base_seasonal",
        }
        kw: dict[str, Any] = {}
        for k in cls.__dataclass_fields__:
            if k not in state:
                continue
            v = state[k]
            if v is None and k != "last_y":
                v = -math.inf if k in neg else math.inf
            kw[k] = v
        kw["recent_z"] = list(kw.get("recent_z", []))
        return cls(**kw)

    @property
    def warm(self) -> bool:
        """True once the series has been scored long enough to be trusted."""
        return self.n >= warmup_points(self.season)

    def _range_channel(self, y: float, floor: float) -> float:
        """Log-odds of leaving the range the series has shown (not yet learnt)."""
        beyond = max(y - self.hi, self.lo - y, 0.0)
        # a range seen over a few points is no range yet (a new extreme is common)
        if beyond <= floor or self.n < RANGE_MIN_POINTS:
            return _NOTHING
        return _log_ratio(beyond, max(self.rec_jump, floor)) + RANGE_BONUS

    def update(self, y: float, mean: float, sigma: float, ref: float) -> tuple[float, float]:
        """Score one point, learn it; returns (score, record |z| the residual channel used).

        ``sigma``: the band's implied standard deviation; ``ref``: the seasonal
        reference (NaN when the series has no season or not enough history).
        """
        decay = 2.0 ** (-1.0 / HALF_LIFE)
        self.rec_z *= decay
        self.rec_burst *= decay
        self.rec_seasonal *= decay
        self.rec_jump *= decay
        span = self.hi - self.lo if self.hi > self.lo else 0.0
        floor = FLOOR * max(span, abs(y) * 1e-3, _TINY)
        sd = max(sigma, floor) if math.isfinite(sigma) else floor
        z = abs(y - mean) / sd if math.isfinite(mean) else 0.0
        z_record = max(self.rec_z, RECORD_FLOOR)
        rec_before = (self.rec_z, self.rec_burst)
        seas_before = self.rec_seasonal
        self.recent_z.append(z)
        if len(self.recent_z) > BURST:
            del self.recent_z[0]
        burst = sum(self.recent_z) / BURST if len(self.recent_z) == BURST else 0.0
        log_odds = max(
            _log_ratio(z, z_record),
            _log_ratio(burst, max(self.rec_burst, RECORD_FLOOR)),
        )
        # the model-free channels compare values: their records are in the series' units
        dev = abs(y - ref) if math.isfinite(ref) else 0.0
        if dev > floor:
            log_odds = max(log_odds, _log_ratio(dev, max(self.rec_seasonal, floor)))
        if self.last_y is not None:
            log_odds = max(log_odds, self._range_channel(y, floor))
            self.rec_jump = max(self.rec_jump, abs(y - self.last_y))
        trusted = self.warm  # judged on the points before this one
        self.n += 1
        score = 1.0 / (1.0 + math.exp(-max(log_odds, _NOTHING)))
        self.incident_age += 1
        if self.incident_age > REFRACTORY:
            self.incident = -math.inf
        bar = self.incident
        if bar >= ALARM_LOG_ODDS:  # an incident that alarmed re-alarms only if far worse
            bar += REFIRE_MARGIN
        damped = log_odds <= bar or not trusted
        if not damped and log_odds > 0:
            if not math.isfinite(self.incident):  # a new incident: remember the records
                self.base_z, self.base_burst = rec_before
                self.base_seasonal = seas_before
            self.incident, self.incident_age = log_odds, 0
        if math.isfinite(self.incident):
            # inside an incident the records learn at most e^INCIDENT_LEARN more than they
            # held when it began: an incident must not blind the series for days after
            cap = math.exp(INCIDENT_LEARN)
            z = min(z, max(self.base_z, RECORD_FLOOR) * cap)
            burst = min(burst, max(self.base_burst, RECORD_FLOOR) * cap)
            dev = min(dev, max(self.base_seasonal, floor) * cap)
        self.rec_z = max(self.rec_z, z)
        self.rec_burst = max(self.rec_burst, burst)
        self.rec_seasonal = max(self.rec_seasonal, dev)
        self.lo, self.hi = min(self.lo, y), max(self.hi, y)
        self.last_y = y
        return (score * DAMP if damped else score), z_record


def seasonal_reference(history: FloatArray, season: int, h: int) -> FloatArray:
    """For each of the ``h`` steps after ``history``: the median of the values 1–3
    seasons back that lie in the history (later seasons when the nearer ones are
    still in the future). NaN without a season or history."""
    out = np.full(h, np.nan)
    n = history.shape[0]
    if season <= 1 or n == 0:
        return out
    j = np.arange(h)
    k0 = j // season + 1  # nearest season back that lies in the history
    vals = []
    for k in range(SEASONS_BACK):
        idx = n + j - (k0 + k) * season
        vals.append(np.where(idx >= 0, history[np.clip(idx, 0, n - 1)], np.nan))
    stacked = np.vstack(vals)
    ok = ~np.isnan(stacked).all(axis=0)
    with np.errstate(all="ignore"):
        out[ok] = np.nanmedian(stacked[:, ok], axis=0)
    return out


def lagged_median(y: FloatArray, lag: int, offsets: Sequence[int]) -> FloatArray:
    """Per point i, the median of ``y[i + k·lag]`` over ``offsets`` that fall inside
    ``y`` (NaN where none does)."""
    n = y.shape[0]
    out = np.full(n, np.nan)
    if n == 0 or not offsets:
        return out
    cols = []
    for k in offsets:
        idx = np.arange(n) + k * lag
        cols.append(np.where((idx >= 0) & (idx < n), y[np.clip(idx, 0, n - 1)], np.nan))
    stacked = np.vstack(cols)
    ok = ~np.isnan(stacked).all(axis=0)
    with np.errstate(all="ignore"):
        out[ok] = np.nanmedian(stacked[:, ok], axis=0)
    return out


def insample_reference(y: FloatArray, season: int) -> FloatArray:
    """The seasonal reference of each point of ``y`` from the points before it."""
    if season <= 1:
        return np.full(y.shape[0], np.nan)
    return lagged_median(y, season, [-k for k in range(1, SEASONS_BACK + 1)])


_FIELDS = tuple(f.name for f in fields(ScorerState))


def residual_scores(
    y: FloatArray,
    mean: FloatArray,
    sigma: FloatArray,
    ref: FloatArray | None = None,
    *,
    season: int = 1,
    state: ScorerState | None = None,
) -> tuple[FloatArray, FloatArray, ScorerState]:
    """Score a stream in order (a point's score uses only earlier points).

    Returns (scores, the residual record each point was judged by, the final state);
    ``state`` continues an earlier stream (the hot path)."""
    st = state if state is not None else ScorerState(season=season)
    n = y.shape[0]
    out = np.empty(n, np.float64)
    rec = np.empty(n, np.float64)
    r = ref if ref is not None else np.full(n, np.nan)
    rows = zip(y.tolist(), mean.tolist(), sigma.tolist(), r.tolist(), strict=True)
    for i, (a, b, c, d) in enumerate(rows):
        if math.isnan(b) or math.isnan(c):
            # unscored (no band here) and not learnt — but time passes, so an open
            # incident ages: a spike after a stretch past the band is a new incident
            st.incident_age += 1
            out[i], rec[i] = 0.0, math.nan
            continue
        out[i], rec[i] = st.update(a, b, c, d)
    return out, rec, st
