"""``/v1/groups``: groups of series, multivariate detection with top contributors,
and the group hot path (rows scored on arrival). A thin layer over
``service.groups`` (``tsad.multivariate.groups``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
import numpy as np
from litestar import Request, Router, delete, get, post

from tsad.api.decode import points_arrays, query_range, read_json
from tsad.api.openapi import json_body
from tsad.api.schemas import Points, Ratio, Sensitivity, Wire
from tsad.detect.threshold import DEFAULT_SENSITIVITY
from tsad.errors import InvalidInput, TooLarge
from tsad.limits import check_points
from tsad.multivariate.detector import MultiScored
from tsad.multivariate.groups import WARMUP_ROWS, Group, anomaly_record, check_group
from tsad.series import Series, format_ts, parse_timestamp, parse_value
from tsad.service import TsadService

Req = Request[Any, Any, Any]
Top = Annotated[int, msgspec.Meta(ge=0, le=100, description="Contributors per row (default 3)")]


class GroupRequest(Wire):
    """Body of ``POST /v1/groups``."""

    name: str
    series: list[str]
    detector: Literal["pca", "iforest"] = "pca"
    sensitivity: Sensitivity = DEFAULT_SENSITIVITY


class GroupView(Wire):
    name: str
    series: list[str]
    detector: str
    sensitivity: float
    learning: bool
    rows_seen: int
    points_needed: int


class GroupDetectRequest(Wire):
    """Body of ``POST /v1/groups/{group}/detect``; ``series`` (id → points) for an inline
    group named ``inline``, else the stored group's points between ``start`` and ``end``."""

    series: dict[str, Points] | None = None
    mode: Literal["batch", "online"] = "batch"
    detector: Literal["pca", "iforest"] | None = None
    sensitivity: Sensitivity | None = None
    max_anomaly_ratio: Ratio | None = None
    top: Top = 3
    warmup: Annotated[
        int, msgspec.Meta(ge=10, le=100_000, description="online: rows fitted first (warm-up)")
    ] = WARMUP_ROWS
    start: str | float | None = None
    end: str | float | None = None


class Contributor(Wire):
    series_id: str
    share: float


class GroupPoint(Wire):
    timestamp: str
    values: dict[str, float]
    score: float
    is_anomaly: bool
    severity: float
    learning: bool
    is_change_point: bool
    contributors: list[Contributor]


class GroupDetectResponse(Wire):
    group: str
    detector: str
    mode: str
    threshold: float
    filled: dict[str, int]
    points: list[GroupPoint]


class GroupRow(Wire):
    timestamp: Any
    values: dict[str, Any]


class GroupIngestRequest(Wire):
    """Body of ``POST /v1/groups/{group}/points``: rows of one value per member."""

    rows: list[GroupRow]


class GroupIngestResponse(Wire):
    group: str
    accepted: int
    learning: bool
    training_scheduled: bool
    points: list[GroupPoint]


def _view(service: TsadService, g: Group) -> GroupView:
    st = service.groups.state(g.name)
    return GroupView(
        name=g.name,
        series=list(g.series),
        detector=g.detector,
        sensitivity=g.sensitivity,
        learning=st["learning"],
        rows_seen=st["rows_seen"],
        points_needed=st["points_needed"],
    )


def encode_points(scored: MultiScored, top: int) -> list[GroupPoint]:
    out = []
    for i in range(len(scored)):
        out.append(
            GroupPoint(
                timestamp=format_ts(int(scored.ts[i])),
                values={v: float(scored.values[i, j]) for j, v in enumerate(scored.variables)},
                score=float(scored.score[i]),
                is_anomaly=bool(scored.is_anomaly[i]),
                severity=float(scored.severity[i]),
                learning=bool(scored.learning[i]),
                is_change_point=bool(scored.change_points[i]),
                contributors=[Contributor(series_id=v, share=s) for v, s in scored.top(i, top)],
            )
        )
    return out


@post("/", status_code=201, operation_class=json_body(GroupRequest))
async def create_group(request: Req, service: TsadService) -> GroupView:
    """Create (or replace) a group of series."""
    body = await read_json(request, GroupRequest)
    g = await service.groups.create(
        check_group(body.name, body.series, body.detector, body.sensitivity)
    )
    return _view(service, g)


@get("/")
async def list_groups(service: TsadService) -> list[GroupView]:
    """Every group."""
    return [_view(service, g) for g in await service.groups.all()]


@get("/{group:str}")
async def get_group(group: str, service: TsadService) -> GroupView:
    """One group and its hot-path state."""
    return _view(service, await service.groups.lookup(group))


@delete("/{group:str}", status_code=204)
async def delete_group(group: str, service: TsadService) -> None:
    """Forget a group (its member series stay)."""
    await service.groups.delete(group)


@post("/{group:str}/detect", status_code=200, operation_class=json_body(GroupDetectRequest))
async def detect_group(group: str, request: Req, service: TsadService) -> GroupDetectResponse:
    """Score every aligned row (batch, or online replay) with top contributors."""
    body = await read_json(request, GroupDetectRequest)
    limit = service.settings.api.max_points_per_request
    inline = None
    if body.series is not None:
        check_points(sum(len(p) for p in body.series.values()), limit)
        inline = {}
        for sid, pts in body.series.items():
            ts, y = points_arrays(pts)
            order = np.argsort(ts, kind="stable")
            inline[sid] = Series(ts[order], y[order])
    start = parse_timestamp(body.start) if body.start is not None else None
    end = parse_timestamp(body.end) if body.end is not None else None
    scored = await service.groups.detect(
        group=None if inline is not None else group,
        inline=inline,
        detector=body.detector,
        mode=body.mode,
        sensitivity=body.sensitivity,
        max_anomaly_ratio=body.max_anomaly_ratio,
        start=start,
        end=end,
        warmup=body.warmup,
    )
    stored = await service.groups.lookup(group) if inline is None else None
    name = body.detector or (stored.detector if stored is not None else "pca")
    return GroupDetectResponse(
        group=group,
        detector=name,
        mode=body.mode,
        threshold=scored.threshold,
        filled=dict(zip(scored.variables, scored.filled, strict=True)),
        points=encode_points(scored, body.top),
    )


@post("/{group:str}/points", status_code=200, operation_class=json_body(GroupIngestRequest))
async def ingest_group(group: str, request: Req, service: TsadService) -> GroupIngestResponse:
    """Append rows to the members and score each row on arrival (the group hot path)."""
    body = await read_json(request, GroupIngestRequest)
    g = await service.groups.lookup(group)
    n = len(body.rows)
    if n * len(g.series) > service.settings.api.max_points_per_request:
        raise TooLarge(f"{n} rows of {len(g.series)} values exceed the request limit")
    ts = np.empty(n, dtype=np.int64)
    values = np.full((n, len(g.series)), np.nan)
    col = {s: j for j, s in enumerate(g.series)}
    for i, row in enumerate(body.rows):
        ts[i] = parse_timestamp(row.timestamp, i)
        unknown = set(row.values) - set(col)
        if unknown:
            raise InvalidInput(f"row {i}: {sorted(unknown)[0]!r} is not a member of {group!r}")
        for sid, v in row.values.items():
            values[i, col[sid]] = parse_value(v, i)
    if n and np.isnan(values[0]).any():
        raise InvalidInput("the first row needs a value for every member")
    result = await service.groups.ingest(group, ts, values)
    return GroupIngestResponse(
        group=group,
        accepted=result.accepted,
        learning=bool(result.scored.learning.all()),
        training_scheduled=result.training_scheduled,
        points=encode_points(result.scored, 3),
    )


@get("/{group:str}/anomalies")
async def group_anomalies(
    group: str, service: TsadService, start: str | None = None, end: str | None = None
) -> list[dict[str, Any]]:
    """Rows the group's hot path flagged, with their contributors."""
    lo, hi = query_range(start, end)
    await service.groups.lookup(group)
    return [
        {**{k: v for k, v in a.items() if k != "ts"}, "timestamp": format_ts(a["ts"])}
        for a in service.groups.anomalies(group, lo, hi)
    ]


group_routes = Router(
    path="/v1/groups",
    route_handlers=[
        create_group,
        list_groups,
        get_group,
        delete_group,
        detect_group,
        ingest_group,
        group_anomalies,
    ],
    tags=["groups"],
)
__all__ = ["anomaly_record", "group_routes"]
