"""Azure Anomaly Detector answers from ``TsadService``: a thin translator.

Decoded requests (``tsad.integrations.azure_wire``) become one call of
``TsadService.detect`` (``mode="batch"``) or ``TsadService.changepoints``; the
scored points come back in Azure's shape, one entry per input point:

* ``expectedValues`` = tsad's ``expected``; ``upperMargins`` = ``hi − expected``,
  ``lowerMargins`` = ``expected − lo``: tsad's band at its detection level, so
  ``expected ± margin`` is the band, as the service returned it (the spec's
  ``(100 − marginScale) × margin`` rule describes how the service had built that
  margin from its own unit; to tighten the band client-side scale the margins);
* ``isAnomaly`` = tsad's flag (``score >= threshold(sensitivity)``);
  ``isPositiveAnomaly`` / ``isNegativeAnomaly`` split
  it by the point's direction (above or below the expected value);
* ``severity`` (v1.1) = tsad's ``score`` (0–1) on flagged points, 0 elsewhere;
* ``period`` = the season tsad's statistical model used (0 = none).

``sensitivity`` (0–99, higher = more anomalies) is tsad's own sensitivity scale,
so it is passed through unchanged; ``maxAnomalyRatio`` is tsad's
``max_anomaly_ratio`` cap. Absent, tsad's defaults apply.

Time: the service's detectors see slots, not clock times, so the grid is handed
to tsad on a proxy clock whose step gives tsad's seasonal rule (a day's worth of
steps for sub-daily data) the season the series has: the real step for weekly …
secondly data; for ``monthly`` a step of 2 h (12 per "day": a year's season);
a ``period`` in the request picks the step of 1 day / period; ``yearly``,
``microsecond``, ``none`` and ``period: 0`` a weekly step (no season).

``last/detect`` scores the series in batch and answers for its last point: the
service built its model on the points sent and read the last point off it (the
v1.1 contract: "based on all data"), and the call is made once per new point, so
tsad's online replay (one refit per horizon) would cost a refit loop per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tsad.integrations.azure_wire import (
    FIXED_STEP_MS,
    AzureSeries,
    ChangePointOptions,
    DetectOptions,
    check_missing,
    filled,
)
from tsad.series import FloatArray, IntArray, Scored, freq_alias, season_length, seasons_for
from tsad.service import TsadService

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
# the proxy clock starts here (any fixed instant would do)
PROXY_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z


def proxy_step_ms(series: AzureSeries) -> int:
    """The proxy grid step that carries the series' season into tsad (module docstring)."""
    period = series.period
    if period is not None:
        if period >= 2 and DAY_MS % period == 0:
            return DAY_MS // period
        return WEEK_MS
    if series.granularity in FIXED_STEP_MS:
        return FIXED_STEP_MS[series.granularity] * series.interval
    if series.granularity == "monthly" and 12 % series.interval == 0:
        return DAY_MS // (12 // series.interval)
    return WEEK_MS


def tsad_period(step_ms: int, slots: int) -> int:
    """The season tsad's statistical model fits at this step and length (0 = none)."""
    seasons = seasons_for(step_ms, slots)
    return seasons[0] if seasons else 0


@dataclass(frozen=True)
class Grid:
    """The series as handed to tsad, and where each input point sits on it."""

    ts: IntArray
    y: FloatArray
    where: IntArray
    step_ms: int


def to_grid(series: AzureSeries, impute_mode: str = "auto", fixed: float | None = None) -> Grid:
    """Fill the grid (``notFill``: the points as sent, one slot each) on the proxy clock."""
    step = proxy_step_ms(series)
    if series.granularity != "none" and impute_mode != "notFill":
        check_missing(series, season_length(step))
    y = filled(series, impute_mode, fixed)
    where = series.index if impute_mode != "notFill" else np.arange(y.shape[0], dtype=np.int64)
    ts = PROXY_EPOCH_MS + np.arange(y.shape[0], dtype=np.int64) * step
    return Grid(ts, y, where, step)


def _margins(s: Scored) -> tuple[FloatArray, FloatArray]:
    upper = np.maximum(np.nan_to_num(s.hi - s.expected), 0.0)
    lower = np.maximum(np.nan_to_num(s.expected - s.lo), 0.0)
    return upper, lower


def _sides(s: Scored) -> tuple[Any, Any]:
    """Flagged points above / below their expected value."""
    up = (s.direction > 0) | ((s.direction == 0) & (s.value > s.expected))
    down = (s.direction < 0) | ((s.direction == 0) & (s.value < s.expected))
    return s.is_anomaly & up, s.is_anomaly & down


async def _scored(service: TsadService, opts: DetectOptions) -> tuple[Scored, int]:
    grid = to_grid(opts.series, opts.impute_mode, opts.impute_fixed_value)
    outcome = await service.detect(
        points=(grid.ts, grid.y),
        mode="batch",
        freq=freq_alias(grid.step_ms),
        sensitivity=None if opts.sensitivity is None else float(opts.sensitivity),
        max_anomaly_ratio=opts.max_anomaly_ratio,
    )
    return outcome.scored.take(grid.where), tsad_period(grid.step_ms, int(grid.ts.shape[0]))


async def entire_detect(
    service: TsadService, opts: DetectOptions, *, version: str
) -> dict[str, Any]:
    """``POST /timeseries/entire/detect``: every input point."""
    s, period = await _scored(service, opts)
    upper, lower = _margins(s)
    pos, neg = _sides(s)
    body: dict[str, Any] = {
        "period": period,
        "expectedValues": np.nan_to_num(s.expected).tolist(),
        "upperMargins": upper.tolist(),
        "lowerMargins": lower.tolist(),
        "isAnomaly": s.is_anomaly.tolist(),
        "isNegativeAnomaly": neg.tolist(),
        "isPositiveAnomaly": pos.tolist(),
    }
    if version != "v1.0":
        body["severity"] = np.where(s.is_anomaly, s.score, 0.0).tolist()
    return body


def suggested_window(period: int, step_ms: int) -> int:
    """Points worth sending for the last point: four seasons, else two of the natural
    season of the step (so the model can become seasonal), at least 12, at most 8,640."""
    if period > 0:
        return min(8640, 4 * period + 1)
    return min(8640, max(12, 2 * season_length(step_ms) + 1))


async def last_detect(service: TsadService, opts: DetectOptions, *, version: str) -> dict[str, Any]:
    """``POST /timeseries/last/detect``: the series' last point."""
    s, period = await _scored(service, opts)
    last = s.take(slice(-1, None))
    upper, lower = _margins(last)
    pos, neg = _sides(last)
    body: dict[str, Any] = {
        "period": period,
        "suggestedWindow": suggested_window(period, proxy_step_ms(opts.series)),
        "expectedValue": float(np.nan_to_num(last.expected)[0]),
        "upperMargin": float(upper[0]),
        "lowerMargin": float(lower[0]),
        "isAnomaly": bool(last.is_anomaly[0]),
        "isNegativeAnomaly": bool(neg[0]),
        "isPositiveAnomaly": bool(pos[0]),
    }
    if version != "v1.0":
        body["severity"] = float(last.score[0]) if last.is_anomaly[0] else 0.0
    return body


async def changepoint_detect(service: TsadService, opts: ChangePointOptions) -> dict[str, Any]:
    """``POST /timeseries/changepoint/detect``: ``isChangePoint`` and ``confidenceScores``."""
    grid = to_grid(opts.series)
    outcome = await service.changepoints(
        points=(grid.ts, grid.y),
        freq=freq_alias(grid.step_ms),
        window=opts.stable_trend_window,
        threshold=opts.threshold,
        mode="batch",
    )
    res = outcome.result
    flags = np.zeros(grid.where.shape[0], bool)
    for b in res.indices:  # a change on a filled slot shows on the next input point
        k = int(np.searchsorted(grid.where, b, side="left"))
        if k < flags.shape[0]:
            flags[k] = True
    return {
        "period": res.period,
        "isChangePoint": flags.tolist(),
        "confidenceScores": res.confidence[grid.where].tolist(),
    }
