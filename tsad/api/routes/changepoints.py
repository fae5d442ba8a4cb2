"""``POST /v1/changepoints``: where a stored or inline series shifts level, with a
confidence for every point (``tsad.detect.changepoints`` says how)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, post

from tsad.api.decode import inline_points, read_json
from tsad.api.openapi import json_body
from tsad.api.schemas import Points, Wire
from tsad.detect.changepoints import ChangePointOutcome
from tsad.series import format_ts
from tsad.service import TsadService


class ChangePointRequest(Wire):
    """A stored ``series_id`` or inline ``points``; the rest optional."""

    series_id: str | None = None
    points: Points | None = None
    freq: str | None = None
    period: Annotated[
        int | None,
        msgspec.Meta(description="Season in steps (0 = none); default: a day for sub-daily data"),
    ] = None
    window: Annotated[
        int | None, msgspec.Meta(description="Points each side of a change (>= 3), default 10")
    ] = None
    threshold: Annotated[
        float | None, msgspec.Meta(description="Confidence a change point needs, in (0, 1)")
    ] = None
    mode: Literal["batch", "online"] = "batch"


class ChangePointItem(Wire):
    """One input point (sorted by time, one per distinct timestamp)."""

    timestamp: str
    value: float
    confidence: float
    is_change_point: bool


class ChangePointResponse(Wire):
    freq: str
    filled: int
    duplicates: int
    unsorted: bool
    mode: str
    period: int
    window: int
    threshold: float
    pending: int
    change_points: list[str]
    points: list[ChangePointItem]


def encode(outcome: ChangePointOutcome) -> ChangePointResponse:
    """The wire answer of a change-point run."""
    r = outcome.result
    stamps = [format_ts(t) for t in r.ts.tolist()]
    flags = r.is_change_point.tolist()
    return ChangePointResponse(
        freq=outcome.freq,
        filled=outcome.filled,
        duplicates=outcome.duplicates,
        unsorted=outcome.unsorted,
        mode=r.mode,
        period=r.period,
        window=r.window,
        threshold=r.threshold,
        pending=r.pending,
        change_points=[stamps[i] for i in r.indices.tolist()],
        points=[
            ChangePointItem(timestamp=t, value=v, confidence=c, is_change_point=f)
            for t, v, c, f in zip(
                stamps, r.value.tolist(), r.confidence.tolist(), flags, strict=True
            )
        ],
    )


@post(
    "/v1/changepoints",
    status_code=200,
    operation_class=json_body(ChangePointRequest),
    tags=["models"],
)
async def changepoints(
    request: Request[Any, Any, Any], service: TsadService
) -> ChangePointResponse:
    """Offline segmentation (``batch``) or the online rule (``online``)."""
    body = await read_json(request, ChangePointRequest)
    outcome = await service.changepoints(
        series_id=body.series_id,
        points=inline_points(body.points, service.settings.api.max_points_per_request),
        freq=body.freq,
        period=body.period,
        window=body.window,
        threshold=body.threshold,
        mode=body.mode,
    )
    return encode(outcome)
