"""``POST /v1/detect``: score every point of a stored series or inline points."""

from __future__ import annotations

from typing import Any

import numpy as np
from litestar import Request, post

from tsad.api import encode
from tsad.api.decode import inline_points, read_json
from tsad.api.openapi import json_body
from tsad.api.schemas import DetectRequest, DetectResponse
from tsad.service import TsadService


@post("/v1/detect", status_code=200, operation_class=json_body(DetectRequest), tags=["models"])
async def detect(request: Request[Any, Any, Any], service: TsadService) -> DetectResponse:
    """Batch (in-sample bands) or online (each point from the points before it)."""
    body = await read_json(request, DetectRequest)
    level = service.settings.models.detect_level if body.level is None else body.level
    outcome = await service.detect(
        series_id=body.series_id,
        points=inline_points(body.points, service.settings.api.max_points_per_request),
        level=level,
        model=body.model,
        mode=body.mode,
        freq=body.freq,
        sensitivity=body.sensitivity,
        max_anomaly_ratio=body.max_anomaly_ratio,
    )
    report, scored = outcome.report, outcome.scored
    return DetectResponse(
        **encode.report_fields(report),
        level=float(level),
        mode=body.mode,
        sensitivity=outcome.sensitivity,
        threshold=outcome.threshold,
        anomalies=int(np.count_nonzero(scored.is_anomaly)),
        points=encode.scored_points(scored),
    )
