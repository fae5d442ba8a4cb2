"""Azure Anomaly Detector (univariate, v1.0 and v1.1) requests: decoded and checked
the way the service checked them, into a series on a regular grid.

The shapes, limits and error codes come from Microsoft's published specification
(``AnomalyDetector`` data-plane, stable v1.0 and v1.1) and the SDK's models
(``azure-ai-anomalydetector`` 3.0.0b6): 12 to 8,640 points, sorted timestamps
without repeats that sit on the ``granularity × customInterval`` grid,
``sensitivity`` 0–99, ``0 < maxAnomalyRatio < 0.5``, change-point
``threshold`` 0.01–0.99 and ``stableTrendWindow`` ≥ 3 and under half the series.
Every refusal is an ``AzureInvalidRequest`` carrying the service's code.

Missing grid slots are filled here, by ``imputeMode`` (``auto`` = ``linear``,
``previous``, ``fixed``, ``zero``; ``notFill`` scores the points as sent, one
after the other). At most 17,280 grid slots (twice the point limit) are filled,
and a seasonal series may miss at most half of them, as in the service.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import numpy as np

from tsad.errors import AzureInvalidRequest, InvalidInput
from tsad.series import FloatArray, IntArray, parse_timestamp

MIN_POINTS = 12
MAX_POINTS = 8_640
MAX_GRID = 2 * MAX_POINTS
GRANULARITIES = (
    "yearly",
    "monthly",
    "weekly",
    "daily",
    "hourly",
    "minutely",
    "secondly",
    "microsecond",
    "none",
)
IMPUTE_MODES = ("auto", "previous", "linear", "fixed", "zero", "notFill")
FIXED_STEP_MS = {
    "weekly": 7 * 86_400_000,
    "daily": 86_400_000,
    "hourly": 3_600_000,
    "minutely": 60_000,
    "secondly": 1_000,
}
_MALFORMED = "'timestamp' or 'value' is malformed in 'series' Field."


def fail(code: str, message: str) -> AzureInvalidRequest:
    return AzureInvalidRequest(code, message)


@dataclass(frozen=True)
class AzureSeries:
    """The request's points on their grid: ``index`` is each point's grid slot."""

    values: FloatArray
    index: IntArray
    granularity: str
    interval: int
    period: int | None

    @property
    def slots(self) -> int:
        return int(self.index[-1]) + 1

    @property
    def missing(self) -> int:
        return self.slots - int(self.index.shape[0])


@dataclass(frozen=True)
class DetectOptions:
    """An entire- or last-detect request."""

    series: AzureSeries
    sensitivity: int | None
    max_anomaly_ratio: float | None
    impute_mode: str
    impute_fixed_value: float | None


@dataclass(frozen=True)
class ChangePointOptions:
    """A change-point request."""

    series: AzureSeries
    stable_trend_window: int | None
    threshold: float | None


def read_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of the body (NaN literals allowed, as Python clients send them)."""
    if not raw.strip():
        raise fail("InvalidJsonFormat", "Invalid Json Format, input data is Empty.")
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        import json

        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            raise fail("InvalidJsonFormat", "Invalid Json Format: the body is not JSON.") from None
    if not isinstance(body, dict):
        raise fail("InvalidJsonFormat", "Invalid Json Format: the body must be a JSON object.")
    return body


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _granularity(body: dict[str, Any], *, required: bool) -> tuple[str, int]:
    raw = body.get("granularity")
    if raw is None:
        if required:
            raise fail("RequiredGranularity", "The 'granularity' field is required in request.")
        raw = "none"
    if raw not in GRANULARITIES:
        listed = ", ".join(GRANULARITIES)
        raise fail(
            "InvalidGranularity",
            f"The 'granularity' field can only be one of the following: {listed}.",
        )
    interval = body.get("customInterval")
    if interval is None:
        interval = 1
    if not _is_int(interval) or interval <= 0:
        raise fail("InvalidCustomInterval", "The 'customInterval' field must be an integer > 0.")
    return str(raw), int(interval)


def _values(series: list[Any]) -> FloatArray:
    out = np.empty(len(series))
    for i, point in enumerate(series):
        if not isinstance(point, dict) or "value" not in point:
            raise fail("BadArgument", _MALFORMED)
        value = point["value"]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise fail("BadArgument", "The 'series' field cannot have none values.")
        if not _is_number(value):
            raise fail("BadArgument", _MALFORMED)
        out[i] = float(value)
    return out


def _timestamps(series: list[Any]) -> IntArray:
    ts = np.empty(len(series), np.int64)
    for i, point in enumerate(series):
        raw = point.get("timestamp")
        if not isinstance(raw, str):
            raise fail("BadArgument", _MALFORMED)
        try:
            ts[i] = parse_timestamp(raw)
        except InvalidInput:
            raise fail("BadArgument", _MALFORMED) from None
    steps = np.diff(ts)
    if np.any(steps < 0):
        raise fail(
            "InvalidSeries", "The 'series' field must be sorted by timestamp in ascending order."
        )
    if np.any(steps == 0):
        raise fail("InvalidSeries", "The 'series' field cannot have duplicated timestamp.")
    return ts


def _calendar_index(ts: IntArray, granularity: str) -> tuple[IntArray, int | None]:
    """Months (or years) since the first point; the first point off that calendar grid."""
    first = datetime.fromtimestamp(int(ts[0]) / 1000, tz=UTC)
    out = np.empty(ts.shape[0], np.int64)
    for i, ms in enumerate(ts.tolist()):
        dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
        same_time = (dt.day, dt.time()) == (first.day, first.time())
        if not same_time or (granularity == "yearly" and dt.month != first.month):
            return out, i
        months = (dt.year - first.year) * 12 + dt.month - first.month
        out[i] = months // 12 if granularity == "yearly" else months
    return out, None


def grid_index(ts: IntArray, granularity: str, interval: int) -> IntArray:
    """Each timestamp's slot on the ``granularity × interval`` grid from the first point."""
    bad: int | None
    if granularity in ("monthly", "yearly"):
        units, bad = _calendar_index(ts, granularity)
    else:
        step_us = (FIXED_STEP_MS[granularity] * 1000) if granularity in FIXED_STEP_MS else 1
        delta_us = (ts - ts[0]) * 1000
        units = delta_us // step_us
        off = np.flatnonzero(delta_us % step_us)
        bad = int(off[0]) if off.size else None
    if bad is None:
        off = np.flatnonzero(units % interval)
        bad = int(off[0]) if off.size else None
    if bad is not None:
        raise fail(
            "InvalidSeries",
            f"The 'timestamp' at index {bad} is invalid in {granularity} granularity "
            f"with {interval} gran as interval.",
        )
    return np.asarray(units // interval, dtype=np.int64)


def decode_series(body: dict[str, Any], *, granularity_required: bool = False) -> AzureSeries:
    """``series``, ``granularity``, ``customInterval`` and ``period``, checked."""
    granularity, interval = _granularity(body, required=granularity_required)
    series = body.get("series")
    if series is None:
        raise fail("RequiredSeries", "The 'series' field is required in request.")
    if not isinstance(series, list):
        raise fail("BadArgument", "The 'series' field must be array/list type.")
    if len(series) < MIN_POINTS:
        raise fail("InvalidSeries", f"The 'series' field must have at least {MIN_POINTS} points.")
    if len(series) > MAX_POINTS:
        raise fail(
            "InvalidSeries", f"The 'series' field cannot have more than {MAX_POINTS} points."
        )
    values = _values(series)
    if granularity == "none":
        index = np.arange(values.shape[0], dtype=np.int64)
    else:
        index = grid_index(_timestamps(series), granularity, interval)
    period = body.get("period")
    if period is not None and (not _is_int(period) or period < 0):
        raise fail("InvalidPeriod", "The 'period' field must be an integer >= 0.")
    out = AzureSeries(values, index, granularity, interval, period)
    if out.slots > MAX_GRID:
        raise fail(
            "InvalidSeries",
            f"The 'series' spans {out.slots} {granularity} slots of which {out.missing} are "
            f"missing; at most {MAX_GRID} slots can be filled.",
        )
    if period and out.slots < 2 * period + 1:
        message = "The 'series' field must have more than 2 periods points"
        raise fail("InvalidModelArgument", message)
    return out


def check_missing(series: AzureSeries, season: int) -> None:
    """A seasonal series may miss at most half of its grid slots."""
    if season > 1 and series.missing > 0.5 * series.slots:
        need = math.ceil(series.slots * 0.5)
        raise fail(
            "InvalidSeries",
            "Ratio of missing points should be less than 50% for seasonal timeseries. "
            f"There should be at least {need} points, but got {series.index.shape[0]} points.",
        )


def decode_detect(raw: bytes) -> DetectOptions:
    """An entire- or last-detect body."""
    body = read_body(raw)
    series = decode_series(body)
    ratio = body.get("maxAnomalyRatio")
    if ratio is not None and (not _is_number(ratio) or not 0 < ratio < 0.5):
        raise fail(
            "InvalidModelArgument",
            "The 'maxAnomalyRatio' field must be less than 50% of the series points "
            "(0 < maxAnomalyRatio < 0.5).",
        )
    sensitivity = body.get("sensitivity")
    if sensitivity is not None and (not _is_int(sensitivity) or not 0 <= sensitivity <= 99):
        raise fail(
            "InvalidModelArgument", "The 'sensitivity' field must be an integer between 0 and 99."
        )
    mode = body.get("imputeMode")
    mode = "auto" if mode is None else mode
    if mode not in IMPUTE_MODES:
        raise fail(
            "InvalidImputeMode",
            "The 'imputeMode' field should be one of the following: " + ", ".join(IMPUTE_MODES),
        )
    fixed = body.get("imputeFixedValue")
    if mode == "fixed" and not _is_number(fixed):
        raise fail("InvalidImputeFixedValue", "The 'imputeFixedValue' field must be a number.")
    return DetectOptions(
        series=series,
        sensitivity=None if sensitivity is None else int(sensitivity),
        max_anomaly_ratio=None if ratio is None else float(ratio),
        impute_mode=str(mode),
        impute_fixed_value=float(fixed) if mode == "fixed" and fixed is not None else None,
    )


def decode_changepoint(raw: bytes) -> ChangePointOptions:
    """A change-point body (``granularity`` is required here)."""
    body = read_body(raw)
    series = decode_series(body, granularity_required=True)
    window = body.get("stableTrendWindow")
    n = int(series.values.shape[0])
    if window is not None and (not _is_int(window) or not 3 <= window < n / 2):
        raise fail(
            "InvalidModelArgument",
            "The 'stableTrendWindow' field must be an integer >= 3 and < half of series' length.",
        )
    threshold = body.get("threshold")
    if threshold is not None and (not _is_number(threshold) or not 0.01 <= threshold <= 0.99):
        raise fail(
            "InvalidModelArgument", "The 'threshold' field must be an float between 0.01 and 0.99."
        )
    return ChangePointOptions(
        series=series,
        stable_trend_window=None if window is None else int(window),
        threshold=None if threshold is None else float(threshold),
    )


def filled(series: AzureSeries, mode: str, fixed: float | None) -> FloatArray:
    """Values on every grid slot, the missing ones imputed by ``mode``."""
    grid = np.arange(series.slots)
    idx, y = series.index, series.values
    if series.missing == 0 or mode == "notFill":
        return y.copy()
    if mode in ("auto", "linear"):
        return np.interp(grid, idx, y)
    if mode == "previous":
        return y[np.searchsorted(idx, grid, side="right") - 1]
    out = np.full(series.slots, 0.0 if mode == "zero" else float(fixed or 0.0))
    out[idx] = y
    return out
