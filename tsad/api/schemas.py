"""Wire types of the v1 HTTP API: what clients send and what tsad answers.

Requests keep ``points`` loosely typed (``list[Any]``) on purpose: both point
forms are accepted and ``tsad.series.parse_points`` is the one place that
validates them, naming the first bad point. Unknown fields are ignored so
clients may send more than tsad reads.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

Points = Annotated[
    list[Any],
    msgspec.Meta(
        description=(
            "Points as [timestamp, value] pairs or {timestamp, value} objects; a timestamp is "
            "an RFC 3339 string (no offset = UTC) or epoch seconds."
        ),
        examples=[[["2024-01-01T00:00:00Z", 12.5], {"timestamp": 1704067500, "value": 13.1}]],
    ),
]
Level = Annotated[float, msgspec.Meta(description="Interval level in percent, 0 < level < 100")]


Sensitivity = Annotated[
    float,
    msgspec.Meta(
        ge=0,
        lt=100,
        description="Flag threshold knob (Azure's scale): 0-99.9, higher flags more",
    ),
]
Ratio = Annotated[
    float, msgspec.Meta(gt=0, le=0.5, description="Most flags per point of this request")
]


class Wire(msgspec.Struct, kw_only=True):
    """Base of every wire type (keyword-only fields)."""


# --------------------------------------------------------------------------- requests


class IngestRequest(Wire):
    """Body of ``POST /v1/series/{series_id}/points``."""

    points: Points
    freq: str | None = None
    model: str | None = None
    sensitivity: Sensitivity | None = None  # stored for the series


class SeriesPoints(Wire):
    """One series of a bulk append."""

    series_id: str
    points: Points
    freq: str | None = None
    model: str | None = None
    sensitivity: Sensitivity | None = None


class BulkIngestRequest(Wire):
    """Body of ``POST /v1/points``: every series is validated before any is stored."""

    series: list[SeriesPoints]


class ForecastRequest(Wire):
    """Body of ``POST /v1/forecast``: a stored ``series_id`` or inline ``points``."""

    h: Annotated[int, msgspec.Meta(description="Steps to forecast, 1 to TSAD_MAX_HORIZON")]
    series_id: str | None = None
    points: Points | None = None
    levels: list[Level] = msgspec.field(default_factory=lambda: [80.0, 95.0])
    model: str | None = None
    freq: str | None = None


class DetectRequest(Wire):
    """Body of ``POST /v1/detect``: a stored ``series_id`` or inline ``points``."""

    series_id: str | None = None
    points: Points | None = None
    level: Level | None = None
    model: str | None = None
    mode: Literal["batch", "online"] = "batch"
    freq: str | None = None
    sensitivity: Sensitivity | None = None
    max_anomaly_ratio: Ratio | None = None


# --------------------------------------------------------------------------- responses


class ScoredPoint(Wire):
    """A point scored against its band; ``expected``/``lo``/``hi`` null without a band."""

    timestamp: str
    value: float
    expected: float | None
    lo: float | None
    hi: float | None
    is_anomaly: bool
    direction: Literal["up", "down"] | None
    score: float
    severity: float


class IngestResponse(Wire):
    """What an append did, and the batch's points flagged against the stored band."""

    series_id: str
    accepted: int
    duplicates: int
    unsorted: bool
    scored: int
    anomalies: list[ScoredPoint]
    refit_scheduled: bool


class BulkIngestResponse(Wire):
    """One ``IngestResponse`` per series, in request order, and the totals."""

    accepted: int
    duplicates: int
    series: list[IngestResponse]


class Prepared(Wire):
    """What was done to the input before a model saw it."""

    model_used: str
    degraded: bool
    freq: str
    filled: int
    duplicates: int
    unsorted: bool
    reason: str | None


class ForecastResponse(Prepared):
    """Rows ``{timestamp, mean, lo-80, hi-80, ...}`` one per future step."""

    h: int
    levels: list[float]
    forecast: list[dict[str, Any]]


class DetectResponse(Prepared):
    """Every input point scored (sorted by time, one per distinct timestamp)."""

    level: float
    mode: str
    sensitivity: float
    # is_anomaly == (score >= threshold) for every point
    threshold: float
    anomalies: int
    points: list[ScoredPoint]


class SeriesSummary(Wire):
    """A series the buffer knows."""

    series_id: str
    count: int
    first: str | None
    last: str | None
    freq: str | None
    model: str | None
    model_used: str | None
    # set while the series' last model fit failed and a fallback band serves it
    last_error: str | None
    failed_at: str | None


class SeriesList(Wire):
    series: list[SeriesSummary]


class BandPoint(Wire):
    timestamp: str
    mean: float
    lo: float
    hi: float


class StoredBandOut(Wire):
    """The band the hot path scores arriving points against."""

    start: str
    end: str
    freq: str
    level: float
    model_used: str
    fitted_at: str
    points: list[BandPoint]


class ContextThreshold(Wire):
    """A labelled false positive's context rule: a flag on ``direction``'s side whose
    value lies within ``tolerance`` spreads (the scorer's residual scale) of
    [``least``, ``extreme``] (``least`` null: anywhere short of ``extreme``), within
    ``minutes`` of UTC minute-of-day ``minute`` (null: any time), needs a score of at
    least ``threshold`` (and the series' threshold)."""

    direction: Literal["up", "down"]
    extreme: float
    least: float | None
    tolerance: float
    minute: float | None
    minutes: float | None
    threshold: float


class SeriesDetail(SeriesSummary):
    band: StoredBandOut | None
    # warm-up: no flag until the series has been scored on enough points
    learning: bool
    points_needed: int
    sensitivity: float
    threshold: float
    # operator feedback (tsad.feedback): labels stored, and the log-odds they moved
    # the threshold by (threshold already includes it)
    feedback_count: int = 0
    threshold_offset: float = 0.0
    # flags resembling a labelled false positive need these higher thresholds
    context_thresholds: list[ContextThreshold] = msgspec.field(default_factory=list)


class StoredPoint(Wire):
    timestamp: str
    value: float


class PointsResponse(Wire):
    series_id: str
    count: int
    points: list[StoredPoint]


class AnomaliesResponse(Wire):
    series_id: str
    count: int
    anomalies: list[ScoredPoint]


class IncidentOut(Wire):
    """Consecutive flags of one episode."""

    start: str
    end: str
    peak_time: str
    peak_score: float
    peak_severity: float
    direction: Literal["up", "down"] | None
    points: int
    open: bool
    # the learned alert ranker's probability that the alert was real (null while it is off)
    p_true: float | None = None


class IncidentsResponse(Wire):
    series_id: str
    count: int
    incidents: list[IncidentOut]


class Health(Wire):
    status: str
    version: str
