"""Online detection: each point is scored only with what came before it.

Two faces of one rule:

* the **hot path** (``score_arrivals``): arriving points are compared with the
  band stored for their series — a forecast made earlier for these timestamps.
  O(1) per point, no model runs; it only says when a refit is due.
* the **replay** (``detect_online``): the same rule over a whole series, refitting
  on the points before at the hot path's own cadence (``refit_every``: once
  ``REFRESH_FRACTION`` of a band is used), so a point's result never changes when
  later points are added and is the result the service would have given
  (``mode=online``, the NAB bench).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tsad.detect import calibrate
from tsad.detect.flags import Flagged, flag_stream
from tsad.detect.residual_score import ScorerState, seasonal_reference
from tsad.detect.robust import robust_history
from tsad.detect.score import SMALL_BATCH
from tsad.detect.threshold import DEFAULT_SENSITIVITY
from tsad.prepare import Prepared
from tsad.series import FloatArray, IntArray, Series, regularise, season_length
from tsad.settings import ModelSettings
from tsad.state import BandRecord
from tsad.types import Forecaster

# a stored band is refreshed once arrivals have used up this fraction of it
REFRESH_FRACTION = 0.5


def refit_horizon(step_ms: int) -> int:
    """How far ahead a stored band reaches: two seasons, between 24 and 2,880 steps.

    With ``REFRESH_FRACTION`` = 0.5 the hot path refits about once a season.
    """
    return min(max(2 * season_length(step_ms), 24), 2880)


def refit_every(horizon: int) -> int:
    """Steps of a band the hot path uses before its refit is due (``score_arrivals``):
    the replay refits at the same cadence, so it scores every point at the lead the
    service would have."""
    return int(REFRESH_FRACTION * (horizon - 1)) + 1


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
    ref: FloatArray | None = None  # seasonal reference per step (residual_score)
    lower_bound: float | None = None  # the lowest value the series can take (0: a count)

    @property
    def end(self) -> int:
        """Timestamp of the band's last step."""
        return self.start + (int(self.mean.shape[0]) - 1) * self.step_ms

    def to_state(self) -> BandRecord:
        return BandRecord(
            start=self.start,
            step_ms=self.step_ms,
            level=self.level,
            mean=self.mean.tolist(),
            lo=self.lo.tolist(),
            hi=self.hi.tolist(),
            model_used=self.model_used,
            fitted_at=self.fitted_at,
            history_last=self.history_last,
            ref=None if self.ref is None else np.nan_to_num(self.ref, nan=1e308).tolist(),
            lower_bound=self.lower_bound,
        )

    @classmethod
    def from_state(cls, record: BandRecord) -> StoredBand:
        return cls(
            start=record.start,
            step_ms=record.step_ms,
            level=record.level,
            mean=np.asarray(record.mean, np.float64),
            lo=np.asarray(record.lo, np.float64),
            hi=np.asarray(record.hi, np.float64),
            model_used=record.model_used,
            fitted_at=record.fitted_at,
            history_last=record.history_last,
            ref=_ref_from_state(record.ref),
            lower_bound=record.lower_bound,
        )


def _ref_from_state(raw: list[float] | None) -> FloatArray | None:
    if raw is None:
        return None
    ref = np.asarray(raw, np.float64)
    ref[ref >= 1e308] = np.nan  # JSON has no NaN: stored as a sentinel
    return ref


def score_arrivals(
    band: StoredBand | None,
    ts: IntArray,
    y: FloatArray,
    state: ScorerState | None = None,
    sensitivity: float = DEFAULT_SENSITIVITY,
) -> tuple[Flagged | None, bool]:
    """Score arriving points (time order) against the stored band; say whether a
    refit is due. ``None`` when there is no band yet (nothing can be scored).

    Points outside the band's reach are not scored (NaN band, score 0) and do not
    teach the scorer. A refit is due when there is no band, when a point lies past
    it, or when the newest point has used up ``REFRESH_FRACTION`` of it.
    """
    if band is None or band.mean.shape[0] == 0:
        return None, True
    n = band.mean.shape[0]
    k = ts.shape[0]
    ref = band.ref if band.ref is not None else np.full(n, np.nan)
    if k <= SMALL_BATCH:
        # per-point indexing: numpy's fancy-indexing overhead dominates tiny batches
        idx_list = [round((int(t) - band.start) / band.step_ms) for t in ts.tolist()]
        pick = [i if 0 <= i < n else -1 for i in idx_list]
        mean = np.array([band.mean[i] if i >= 0 else np.nan for i in pick])
        lo = np.array([band.lo[i] if i >= 0 else np.nan for i in pick])
        hi = np.array([band.hi[i] if i >= 0 else np.nan for i in pick])
        r = np.array([ref[i] if i >= 0 else np.nan for i in pick])
    else:
        idx = np.rint((ts - band.start) / band.step_ms).astype(np.int64)
        inside = (idx >= 0) & (idx < n)
        safe = np.clip(idx, 0, n - 1)
        mean = np.where(inside, band.mean[safe], np.nan)
        lo = np.where(inside, band.lo[safe], np.nan)
        hi = np.where(inside, band.hi[safe], np.nan)
        r = np.where(inside, ref[safe], np.nan)
    season = season_length(band.step_ms)
    flagged = flag_stream(
        ts,
        y,
        mean,
        lo,
        hi,
        band.level,
        r,
        season=season,
        sensitivity=sensitivity,
        state=state if state is not None else ScorerState(season=season),
        lower_bound=band.lower_bound,
    )
    newest = int(ts.max()) if k else band.start
    due = newest >= band.start + int(REFRESH_FRACTION * (n - 1)) * band.step_ms
    return flagged, bool(due)


def lower_bound_of(y: FloatArray) -> float | None:
    """0 for a series that has never gone below zero (a count, a rate), else None."""
    return 0.0 if y.shape[0] and float(np.min(y)) >= 0.0 else None


ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class ReplayBands:
    """The bands the hot path would have held for each raw point of a replay."""

    mean: FloatArray
    lo: FloatArray
    hi: FloatArray
    ref: FloatArray
    model_used: str


def replay_bands(
    prepared: Prepared,
    forecaster: Forecaster,
    level: float,
    *,
    horizon: int | None = None,
    fit_window: int | None = None,
    progress: ProgressFn | None = None,
) -> ReplayBands:
    """Replay the hot path's refits over the raw points, in time order: fit on the
    points so far, forecast a ``horizon``-step band (with its seasonal reference) from
    the last of them, score the next points against it, and refit once a point arrives
    ``refit_every`` steps or more after the fitted history (the hot path's
    refresh), that point included in the next fit.

    As on the hot path (``score_arrivals``), a point past the band's reach (after a
    gap in the data) is not scored and triggers the refit, so the points after a gap
    are scored against a band fitted on the first of them — not against a forecast
    made before the gap, at leads the service never holds a band for.
    Each fit sees only raw points already scored (re-gridded from that prefix alone, so
    gap filling never looks ahead) — hence results are prefix-stable — and, as the
    service's refit, only the newest ``fit_window`` of them (default: the service's).
    """
    step = prepared.step_ms
    n = prepared.regular.ts.shape[0]
    h = horizon or refit_horizon(step)
    keep = min(refit_every(h), h)
    # the hot path refits on the newest ``fit_window`` points only (``jobs.refit_job``):
    # cleaning the whole history instead aligned shifts the service never sees
    window = fit_window or ModelSettings().fit_window
    season = season_length(step)
    slots = prepared.slots
    mean = np.full(n, np.nan)
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)
    ref = np.full(n, np.nan)
    last = forecaster.min_points(step) - 1  # raw index of the fit's last point
    models: list[str] = []
    start = int(slots[last]) + 1 if 0 <= last < slots.shape[0] else n
    total = max(0, -(-(n - start) // keep))
    done = 0
    while 0 <= last < slots.shape[0] - 1:
        g = int(slots[last])  # grid index of the fit's last point: the band covers g+1..g+h
        hist = regularise(Series(prepared.raw.ts[: last + 1], prepared.raw.y[: last + 1]), step)
        hist_s = hist.series.tail(window)
        clean = robust_history(hist_s, step)  # what the hot path's refit learns from
        fc = calibrate.forecast(forecaster, clean, step, h, [level])
        # the refit is due at the first point ``keep`` steps on (or past the band)
        due = int(np.searchsorted(slots, g + keep, side="left"))
        stop = min(int(slots[due]) if due < slots.shape[0] else n - 1, g + h)
        m = stop - g  # band steps that score points before the next fit
        mean[g + 1 : stop + 1] = fc.band.mean[:m]
        lo[g + 1 : stop + 1] = fc.band.lo[level][:m]
        hi[g + 1 : stop + 1] = fc.band.hi[level][:m]
        ref[g + 1 : stop + 1] = seasonal_reference(clean.y, season, h)[:m]
        models.append(fc.model_used)
        last = due
        done += 1
        if progress is not None:
            progress(done, max(total, done))
    model_used = max(set(models), key=models.count) if models else "none"
    return ReplayBands(mean[slots], lo[slots], hi[slots], ref[slots], model_used)


def detect_online(
    prepared: Prepared,
    forecaster: Forecaster,
    level: float,
    *,
    sensitivity: float = DEFAULT_SENSITIVITY,
    max_anomaly_ratio: float | None = None,
    horizon: int | None = None,
    fit_window: int | None = None,
    progress: ProgressFn | None = None,
) -> tuple[Flagged, str]:
    """Replay the stream as the hot path sees it (``replay_bands``) and score each
    point with the series' scorer, so a point's result never changes when later
    points are added."""
    bands = replay_bands(
        prepared, forecaster, level, horizon=horizon, fit_window=fit_window, progress=progress
    )
    raw = prepared.raw
    min_pts = max(1, forecaster.min_points(prepared.step_ms))
    flagged = flag_stream(
        raw.ts,
        raw.y,
        bands.mean,
        bands.lo,
        bands.hi,
        level,
        bands.ref,
        season=season_length(prepared.step_ms),
        sensitivity=sensitivity,
        max_anomaly_ratio=max_anomaly_ratio,
        lower_bound=lower_bound_of(raw.y[:min_pts]),
    )
    return flagged, bands.model_used


def _first_fit_index(slots: IntArray, min_points: int) -> int:
    """Grid index right after the ``min_points``-th raw point."""
    if slots.shape[0] < min_points:
        return int(slots[-1]) + 1 if slots.shape[0] else 0
    return int(slots[min_points - 1]) + 1
