"""Grafana panel data: rows for the Infinity data source, and SimpleJSON-compatible routes.

* ``GET /v1/series/{id}/panel?start=&end=`` → ``[{time, value, expected, lo, hi,
  is_anomaly, anomalous}]``; in an Infinity query use
  ``start=${__from:date:iso}&end=${__to:date:iso}``.
* ``/grafana/`` (test connection), ``/grafana/search``, ``/grafana/query``,
  ``/grafana/annotations`` for the SimpleJSON / JSON data sources, with Grafana
  ML's target names (``<id>:predicted``, ``<id>:anomalous``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, get, post

from tsad.api.decode import decode_json, query_range
from tsad.api.openapi import json_body
from tsad.api.schemas import Wire
from tsad.errors import InvalidInput, TooLarge
from tsad.integrations import grafana_panels as panels
from tsad.series import parse_timestamp
from tsad.service import TsadService

# one dashboard asks for a handful of targets; more is a mistake or abuse
MAX_TARGETS = 50
MAX_ANNOTATION_SERIES = 100


class GrafanaRange(Wire):
    """The dashboard's time range, as Grafana sends it."""

    from_: str | float = msgspec.field(name="from")
    to: str | float


class SearchRequest(Wire):
    target: str = ""


class QueryTarget(Wire):
    target: str = ""
    refId: str = ""
    type: str = "timeserie"


class QueryRequest(Wire):
    range: GrafanaRange
    targets: list[QueryTarget]
    maxDataPoints: int | None = None
    intervalMs: int | None = None


class AnnotationQuery(Wire):
    name: str = ""
    query: str = ""
    enable: bool = True


class AnnotationRequest(Wire):
    range: GrafanaRange
    annotation: AnnotationQuery = msgspec.field(default_factory=AnnotationQuery)


def _range(r: GrafanaRange) -> tuple[int, int]:
    try:
        lo, hi = parse_timestamp(r.from_), parse_timestamp(r.to)
    except InvalidInput as exc:
        raise InvalidInput(f"range: {exc.detail}") from None
    if lo > hi:
        raise InvalidInput("range: 'from' is after 'to'")
    return lo, hi


@get("/v1/series/{series_id:str}/panel", tags=["grafana"])
async def panel(
    series_id: str, service: TsadService, start: str | None = None, end: str | None = None
) -> list[dict[str, Any]]:
    """Rows ``time, value, expected, lo, hi, is_anomaly, anomalous`` for a Grafana panel."""
    lo, hi = query_range(start, end)
    return panels.panel_rows(await panels.panel_data(service, series_id, lo, hi))


@get("/grafana", tags=["grafana"], sync_to_thread=False)
def grafana_root() -> dict[str, str]:
    """SimpleJSON 'test connection': 200 when tsad answers."""
    return {"status": "ok", "service": "tsad"}


@post(
    "/grafana/search",
    status_code=200,
    tags=["grafana"],
    operation_class=json_body(SearchRequest),
)
async def grafana_search(request: Request[Any, Any, Any], service: TsadService) -> list[str]:
    """Target names matching the typed text: each series, ``:predicted``, ``:anomalous``."""
    body = await request.body()
    query = decode_json(body, SearchRequest).target if body.strip() else ""
    ids = [info.series_id for info in await service.list_series()]
    return panels.search_targets(ids, query)


@post("/grafana/query", status_code=200, tags=["grafana"], operation_class=json_body(QueryRequest))
async def grafana_query(
    request: Request[Any, Any, Any], service: TsadService
) -> list[dict[str, Any]]:
    """``timeserie`` answers for each target over the dashboard's range."""
    req = decode_json(await request.body(), QueryRequest)
    if len(req.targets) > MAX_TARGETS:
        raise TooLarge(f"{len(req.targets)} targets; the limit is {MAX_TARGETS}")
    lo, hi = _range(req.range)
    out: list[dict[str, Any]] = []
    for target in req.targets:
        if not target.target:
            continue  # a panel row the user has not filled in yet
        if target.type not in ("timeserie", "timeseries"):
            raise InvalidInput(f"target {target.target!r}: only type 'timeserie' is served")
        series_id, kind = panels.split_target(target.target)
        data = await panels.panel_data(service, series_id, lo, hi)
        out.extend(panels.target_series(target.target, kind, data))
    return out


@post(
    "/grafana/annotations",
    status_code=200,
    tags=["grafana"],
    operation_class=json_body(AnnotationRequest),
)
async def grafana_annotations(
    request: Request[Any, Any, Any], service: TsadService
) -> list[dict[str, Any]]:
    """Anomalies as annotations; the query names series (comma-separated), empty = all."""
    req = decode_json(await request.body(), AnnotationRequest)
    lo, hi = _range(req.range)
    wanted = [s.strip() for s in req.annotation.query.split(",") if s.strip()]
    if not wanted:
        wanted = [info.series_id for info in await service.list_series()]
    if len(wanted) > MAX_ANNOTATION_SERIES:
        raise TooLarge(
            f"annotations for {len(wanted)} series; name at most {MAX_ANNOTATION_SERIES} "
            "in the annotation query"
        )
    out: list[dict[str, Any]] = []
    annotation = msgspec.to_builtins(req.annotation)
    for series_id in wanted:
        records = await service.anomalies(panels.split_target(series_id)[0], lo, hi)
        for item in panels.anomaly_annotations(series_id, records):
            out.append({"annotation": annotation, **item})
    return out


grafana_routes = [
    Router(
        path="/",
        route_handlers=[panel, grafana_root, grafana_search, grafana_query, grafana_annotations],
        # the POSTs are queries: reads for auth (a key only with TSAD_AUTH_READS=1)
        opt={"auth": "read"},
    )
]
