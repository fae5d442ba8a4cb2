"""Series routes: append points (one series or many), read and forget series.

Appends answer **200** (points join an existing or implicit series; nothing new
is addressable). A bulk append validates every series first — ids, points,
``freq``, ``model`` and the per-request limits — and stores nothing unless all
are valid.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from litestar import Request, Router, delete, get, post

from tsad.api import encode
from tsad.api.decode import points_arrays, query_range, read_json
from tsad.api.metrics import Metrics
from tsad.api.openapi import json_body
from tsad.api.schemas import (
    AnomaliesResponse,
    BulkIngestRequest,
    BulkIngestResponse,
    ContextThreshold,
    IncidentsResponse,
    IngestRequest,
    IngestResponse,
    PointsResponse,
    SeriesDetail,
    SeriesList,
    SeriesSummary,
)
from tsad.errors import InvalidInput, TsadError
from tsad.limits import check_count, check_points
from tsad.series import (
    FloatArray,
    IntArray,
    check_series_id,
    format_ts,
    freq_alias,
    parse_freq,
)
from tsad.service import IngestResult, TsadService
from tsad.types import SeriesInfo

SERIES = "/v1/series/{series_id:str}"


def validated_points(
    service: TsadService,
    series_id: str,
    points: list[Any],
    freq: str | None,
    model: str | None,
) -> tuple[IntArray, FloatArray]:
    """Everything an append needs checked before the buffer is touched."""
    check_series_id(series_id)
    check_points(len(points), service.settings.api.max_points_per_request)
    if not points:
        raise InvalidInput("'points' is empty; send at least one point")
    ts, y = points_arrays(points)
    if freq is not None:
        parse_freq(freq)
    if model is not None:
        service.registry.resolve(model)
    return ts, y


def ingest_response(result: IngestResult, metrics: Metrics) -> IngestResponse:
    scored = result.scored
    if scored.is_anomaly.any():
        anomalies = result.anomalies
        up = int(np.count_nonzero(anomalies.direction > 0))
        flagged, down = encode.scored_points(anomalies), len(anomalies) - up
    else:  # the common case: skip the empty selections and their encoding
        flagged, up, down = [], 0, 0
    metrics.count_ingest(result.accepted, up, down)
    return IngestResponse(
        series_id=result.series_id,
        accepted=result.accepted,
        duplicates=result.duplicates,
        unsorted=result.unsorted,
        scored=len(scored) - int(np.isnan(scored.expected).sum()),
        anomalies=flagged,
        refit_scheduled=result.refit_scheduled,
    )


@post(SERIES + "/points", status_code=200, operation_class=json_body(IngestRequest))
async def append_points(series_id: str, request: Request[Any, Any, Any]) -> IngestResponse:
    """Append points to a series and score them against its stored band."""
    # the hottest route reads the app state itself: resolving two dependencies makes
    # Litestar start a task group per request
    service: TsadService = request.app.state.service
    metrics: Metrics = request.app.state.metrics
    body = await read_json(request, IngestRequest)
    ts, y = validated_points(service, series_id, body.points, body.freq, body.model)
    result = await service.ingest(
        series_id, ts, y, freq=body.freq, model=body.model, sensitivity=body.sensitivity
    )
    return ingest_response(result, metrics)


@post("/v1/points", status_code=200, operation_class=json_body(BulkIngestRequest))
async def append_bulk(
    request: Request[Any, Any, Any], service: TsadService, metrics: Metrics
) -> BulkIngestResponse:
    """Append to many series at once: all series are valid, or nothing is stored."""
    body = await read_json(request, BulkIngestRequest)
    limits = service.settings.api
    if not body.series:
        raise InvalidInput("'series' is empty; send at least one series")
    check_count(len(body.series), limits.max_series_per_request, "series")
    check_points(sum(len(s.points) for s in body.series), limits.max_points_per_request)
    batches = []
    for i, item in enumerate(body.series):
        try:
            batches.append(
                validated_points(service, item.series_id, item.points, item.freq, item.model)
            )
        except TsadError as exc:
            raise type(exc)(
                f"series {i} ({item.series_id[:40]!r}): {exc.detail}", **exc.extra, index=i
            ) from None
    answers = []
    for item, (ts, y) in zip(body.series, batches, strict=True):
        result = await service.ingest(
            item.series_id, ts, y, freq=item.freq, model=item.model, sensitivity=item.sensitivity
        )
        answers.append(ingest_response(result, metrics))
    return BulkIngestResponse(
        accepted=sum(a.accepted for a in answers),
        duplicates=sum(a.duplicates for a in answers),
        series=answers,
    )


def _summary(info: SeriesInfo) -> dict[str, Any]:
    meta = info.meta
    freq = meta.freq or (freq_alias(int(meta.step_ms)) if meta.step_ms else None)
    return {
        "series_id": info.series_id,
        "count": info.count,
        "first": format_ts(info.first) if info.first is not None else None,
        "last": format_ts(info.last) if info.last is not None else None,
        "freq": freq,
        "model": meta.model,
        "model_used": meta.model_used,
        "last_error": meta.last_error,
        "failed_at": format_ts(int(meta.failed_at)) if meta.failed_at else None,
    }


@get("/v1/series")
async def list_series(service: TsadService) -> SeriesList:
    """Every series the buffer holds, with its size, span, frequency and model."""
    return SeriesList(
        series=[SeriesSummary(**_summary(info)) for info in await service.list_series()]
    )


@get(SERIES)
async def get_series(series_id: str, service: TsadService) -> SeriesDetail:
    """One series' info and the band its arriving points are scored against."""
    view = await service.series(series_id)
    band = encode.stored_band(view.band) if view.band is not None else None
    return SeriesDetail(
        **_summary(view.info),
        band=band,
        learning=view.learning,
        points_needed=view.points_needed,
        sensitivity=view.sensitivity,
        threshold=view.threshold,
        feedback_count=view.feedback_count,
        threshold_offset=view.threshold_offset,
        context_thresholds=[ContextThreshold(**r) for r in view.context_thresholds],
    )


@get(SERIES + "/points")
async def get_points(
    series_id: str, service: TsadService, start: str | None = None, end: str | None = None
) -> PointsResponse:
    """Stored points between ``start`` and ``end`` (inclusive; RFC 3339 or epoch seconds)."""
    lo, hi = query_range(start, end)
    window = await service.points(series_id, lo, hi)
    return PointsResponse(
        series_id=series_id, count=len(window), points=encode.stored_points(window)
    )


@get(SERIES + "/anomalies")
async def get_anomalies(
    series_id: str,
    service: TsadService,
    start: str | None = None,
    end: str | None = None,
    group: Literal["points", "incidents"] = "points",
) -> AnomaliesResponse | IncidentsResponse:
    """Points flagged on ingest so far, between ``start`` and ``end`` (inclusive);
    ``group=incidents``: consecutive flags of one episode as one incident."""
    lo, hi = query_range(start, end)
    if group == "incidents":
        incidents = await service.incidents(series_id, lo, hi)
        return IncidentsResponse(
            series_id=series_id,
            count=len(incidents),
            incidents=encode.incidents(
                incidents, await service.feedback.rank(series_id, incidents)
            ),
        )
    records = await service.anomalies(series_id, lo, hi)
    return AnomaliesResponse(
        series_id=series_id, count=len(records), anomalies=encode.anomaly_points(records)
    )


@delete(SERIES, status_code=204)
async def delete_series(series_id: str, service: TsadService) -> None:
    """Forget a series: its points, band and anomalies."""
    await service.delete(series_id)


series_routes = Router(
    path="/",
    route_handlers=[
        append_points,
        append_bulk,
        list_series,
        get_series,
        get_points,
        get_anomalies,
        delete_series,
    ],
    tags=["series"],
)
