"""Online detection: each point is scored only with what came before it.

Two faces of one rule:

* the **hot path** (``score_arrivals``): arriving points are compared with the
  band stored for their series — a forecast made earlier for these timestamps.
  O(1) per point, no model runs; it only says when a refit is due.
* the **replay** (``detect_online``): the same rule over a whole series, refitting
  every ``horizon`` steps on the points before, so a point's result never changes
  when later points are added (``mode=online``, the NAB bench).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from tsad.detect.score import SMALL_BATCH, score_against_band
from tsad.prepare import Prepared
from tsad.series import FloatArray, IntArray, Scored, Series, regularise, season_length, unscored
from tsad.types import Forecaster

# a stored band is refreshed once arrivals have used up this fraction of it
REFRESH_FRACTION = 0.5


def refit_horizon(step_ms: int) -> int:
    """How far ahead a stored band reaches: two seasons, between 24 and 2,880 steps.

    With ``REFRESH_FRACTION`` = 0.5 the hot path refits about once a season.
    """
    return min(max(2 * season_length(step_ms), 24), 2880)


@dataclass(frozen=True)
class StoredBand:
    """The band kept per series for the hot path, on a regular grid from ``start``."""

    start: int
    step_ms: int
    level: float
    mean: FloatArray
    lo: FloatArray
    hi: FloatArray
    model_used: str
    fitted_at: int  # wall clock, ms
    history_last: int  # last history timestamp the fit saw

    @property
    def end(self) -> int:
        """Timestamp of the band's last step."""
        return self.start + (int(self.mean.shape[0]) - 1) * self.step_ms

    def to_state(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "step_ms": self.step_ms,
            "level": self.level,
            "mean": self.mean.tolist(),
            "lo": self.lo.tolist(),
            "hi": self.hi.tolist(),
            "model_used": self.model_used,
            "fitted_at": self.fitted_at,
            "history_last": self.history_last,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> StoredBand:
        return cls(
            start=int(state["start"]),
            step_ms=int(state["step_ms"]),
            level=float(state["level"]),
            mean=np.asarray(state["mean"], np.float64),
            lo=np.asarray(state["lo"], np.float64),
            hi=np.asarray(state["hi"], np.float64),
            model_used=str(state["model_used"]),
            fitted_at=int(state["fitted_at"]),
            history_last=int(state["history_last"]),
        )


def score_arrivals(band: StoredBand | None, ts: IntArray, y: FloatArray) -> tuple[Scored, bool]:
    """Score arriving points against the stored band; say whether a refit is due.

    Points outside the band's reach (before it, or after it) are returned unscored.
    A refit is due when there is no band, when a point lies past it, or when the
    newest point has used up ``REFRESH_FRACTION`` of it.
    """
    if band is None or band.mean.shape[0] == 0:
        return unscored(ts, y), True
    n = band.mean.shape[0]
    k = ts.shape[0]
    if k <= SMALL_BATCH:
        # per-point indexing: numpy's fancy-indexing overhead dominates tiny batches
        idx_list = [round((int(t) - band.start) / band.step_ms) for t in ts.tolist()]
        pick = [i if 0 <= i < n else -1 for i in idx_list]
        mean = np.array([band.mean[i] if i >= 0 else np.nan for i in pick])
        lo = np.array([band.lo[i] if i >= 0 else np.nan for i in pick])
        hi = np.array([band.hi[i] if i >= 0 else np.nan for i in pick])
    else:
        idx = np.rint((ts - band.start) / band.step_ms).astype(np.int64)
        inside = (idx >= 0) & (idx < n)
        safe = np.clip(idx, 0, n - 1)
        mean = np.where(inside, band.mean[safe], np.nan)
        lo = np.where(inside, band.lo[safe], np.nan)
        hi = np.where(inside, band.hi[safe], np.nan)
    scored = score_against_band(ts, y, mean, lo, hi, band.level)
    newest = int(ts.max()) if k else band.start
    due = newest >= band.start + int(REFRESH_FRACTION * (n - 1)) * band.step_ms
    return scored, bool(due)


ProgressFn = Callable[[int, int], None]


def detect_online(
    prepared: Prepared,
    forecaster: Forecaster,
    level: float,
    *,
    horizon: int | None = None,
    fit_window: int | None = None,
    progress: ProgressFn | None = None,
    rarity: bool = False,
) -> tuple[Scored, str]:
    """Replay the stream: fit on the points before grid index ``t0``, forecast the
    next ``horizon`` steps, score the points there, move ``t0`` on, repeat.

    Refit positions depend only on ``t0 = min_points + k·horizon`` and each fit
    sees only raw points before ``t0`` (re-gridded from that prefix alone, so gap
    filling never looks ahead) — hence results are prefix-stable.

    With ``rarity``, ``score`` is the causal record-breaking score of
    ``tsad.detect.residual_score`` (how unusual the point is for *this* series,
    the score the NAB bench measures) instead of the band position; ``is_anomaly``
    stays "outside the band" either way.
    """
    step = prepared.step_ms
    n = prepared.regular.ts.shape[0]
    h = horizon or refit_horizon(step)
    slots = prepared.slots
    first_ts = int(prepared.regular.ts[0]) if n else 0
    mean = np.full(n, np.nan)
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)
    t0 = _first_fit_index(slots, forecaster.min_points(step))
    models: list[str] = []
    total = max(0, -(-(n - t0) // h)) if t0 < n else 0
    done = 0
    while t0 < n:
        k = int(np.searchsorted(slots, t0, side="left"))  # raw points before t0
        hist = regularise(Series(prepared.raw.ts[:k], prepared.raw.y[:k]), step).series
        if fit_window is not None:
            hist = hist.tail(fit_window)
        steps = min(h, n - t0)
        # the forecast starts right after the history's last point; align to t0
        lead = int((first_ts + t0 * step - int(hist.ts[-1])) // step)
        # always the full horizon: a shorter last chunk must not change the model's
        # answer for the points it does cover (prefix stability)
        fc = forecaster.forecast(hist, step, lead - 1 + h, [level])
        band = fc.band
        mean[t0 : t0 + steps] = band.mean[lead - 1 : lead - 1 + steps]
        lo[t0 : t0 + steps] = band.lo[level][lead - 1 : lead - 1 + steps]
        hi[t0 : t0 + steps] = band.hi[level][lead - 1 : lead - 1 + steps]
        models.append(fc.model_used)
        t0 += steps
        done += 1
        if progress is not None:
            progress(done, total)
    scored = score_against_band(
        prepared.raw.ts, prepared.raw.y, mean[slots], lo[slots], hi[slots], level
    )
    if rarity:
        from tsad.detect.residual_score import residual_scores
        from tsad.detect.score import z_for_level

        sigma = (scored.hi - scored.lo) / (2.0 * z_for_level(level))
        rare = residual_scores(scored.value, scored.expected, sigma, season=season_length(step))
        scored = replace(scored, score=rare)
    model_used = max(set(models), key=models.count) if models else "none"
    return scored, model_used


def _first_fit_index(slots: IntArray, min_points: int) -> int:
    """Grid index right after the ``min_points``-th raw point."""
    if slots.shape[0] < min_points:
        return int(slots[-1]) + 1 if slots.shape[0] else 0
    return int(slots[min_points - 1]) + 1
