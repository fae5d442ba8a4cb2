"""``POST /v1/forecast``: ``h`` steps ahead of a stored series or inline points."""

from __future__ import annotations

from typing import Any

from litestar import Request, post

from tsad.api import encode
from tsad.api.decode import inline_points, read_json
from tsad.api.openapi import json_body
from tsad.api.schemas import ForecastRequest, ForecastResponse
from tsad.errors import InvalidInput
from tsad.service import TsadService


@post("/v1/forecast", status_code=200, operation_class=json_body(ForecastRequest), tags=["models"])
async def forecast(request: Request[Any, Any, Any], service: TsadService) -> ForecastResponse:
    """Forecast with bands at ``levels`` (Nixtla column names ``lo-80``, ``hi-80``)."""
    body = await read_json(request, ForecastRequest)
    max_levels = service.settings.api.max_levels
    if len(body.levels) > max_levels:
        raise InvalidInput(
            f"{len(body.levels)} levels in one request; the limit is {max_levels} "
            "(TSAD_MAX_LEVELS)",
            limit=max_levels,
        )
    outcome = await service.forecast(
        series_id=body.series_id,
        points=inline_points(body.points, service.settings.api.max_points_per_request),
        h=body.h,
        levels=body.levels,
        model=body.model,
        freq=body.freq,
    )
    report = outcome.report
    return ForecastResponse(
        **encode.report_fields(report),
        h=body.h,
        levels=outcome.band.levels,
        forecast=encode.forecast_rows(outcome.band),
    )
