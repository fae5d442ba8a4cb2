"""Operational routes: liveness, readiness and Prometheus metrics.

``/ready`` answers 503 (problem details, ``Retry-After``) while the buffer is
unreachable, so an orchestrator stops sending traffic instead of collecting 503s.
"""

from __future__ import annotations

import contextlib
from typing import Any

from litestar import Request, Response, Router, get
from prometheus_client import CONTENT_TYPE_LATEST

import tsad
from tsad.api.metrics import Metrics
from tsad.api.schemas import Health
from tsad.errors import BufferUnavailable
from tsad.service import TsadService


@get("/health", sync_to_thread=False)
def health() -> Health:
    """The process is up and answering."""
    return Health(status="ok", version=tsad.__version__)


@get("/ready")
async def ready(service: TsadService) -> Health:
    """The buffer is reachable: tsad can take points."""
    if not await service.ready():
        raise BufferUnavailable("the buffer is unreachable; tsad cannot take points yet")
    return Health(status="ready", version=tsad.__version__)


# Litestar appends the charset itself to text/* media types
_EXPOSITION = CONTENT_TYPE_LATEST.replace("; charset=utf-8", "")


@get("/metrics", media_type=_EXPOSITION, include_in_schema=False)
async def metrics_route(
    request: Request[Any, Any, Any], service: TsadService, metrics: Metrics
) -> Response[bytes]:
    """Prometheus text exposition of this process's metrics."""
    # a down buffer must not take /metrics down with it
    with contextlib.suppress(Exception):
        infos = await service.list_series()
        metrics.series.set(len(infos))
        hub = request.app.state.get("integrations")
        if hub is not None and hub.metrics is not None:
            hub.metrics.observe_series(infos)
    return Response(metrics.exposition(), media_type=_EXPOSITION)


# "ops": open to probes and scrapers unless TSAD_AUTH_OPS=1 (see tsad.api.auth)
health_routes = Router(
    path="/", route_handlers=[health, ready, metrics_route], tags=["health"], opt={"auth": "ops"}
)
