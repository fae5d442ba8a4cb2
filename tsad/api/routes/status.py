"""``GET /v1/status``: what this tsad process is running on, for the console's
status page and for operators — the buffer, the model workers, the refit queue
and the settings that shape detection and limits.

Secrets are never part of the answer: API keys, the webhook secret and the
TimeGPT key appear only as "configured or not", and a Redis URL loses its
password before it is shown.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import msgspec
from litestar import Router, get

import tsad
from tsad.redact import redacted_url
from tsad.service import TsadService
from tsad.settings import Settings
from tsad.types import RefitQueue


class BufferStatus(msgspec.Struct, kw_only=True):
    kind: str
    reachable: bool
    series: int | None
    redis_url: str | None


class WorkerStatus(msgspec.Struct, kw_only=True):
    runner: str
    model_workers: int
    embedded_worker: bool


class QueueStatus(msgspec.Struct, kw_only=True):
    kind: str
    pending: int | None


class StatusResponse(msgspec.Struct, kw_only=True):
    version: str
    # the process that answered (one of N with `tsad serve --workers N`)
    pid: int
    buffer: BufferStatus
    workers: WorkerStatus
    refit_queue: QueueStatus
    settings: dict[str, Any]


def visible_settings(settings: Settings) -> dict[str, Any]:
    """The settings an operator looks for first, without any secret's value."""
    models, api, buffer, hooks = (
        settings.models,
        settings.api,
        settings.buffer,
        settings.integrations,
    )
    rate = f"{api.rate_limit[0]}/{api.rate_limit[1]}" if api.rate_limit else None
    return {
        "default_model": models.default_model,
        "detect_level": models.detect_level,
        "min_points": models.min_points,
        "fit_window": models.fit_window,
        "max_horizon": models.max_horizon,
        "max_points_per_series": buffer.max_points_per_series,
        "max_age_s": buffer.max_age_s,
        "max_series": buffer.max_series,
        "max_points_per_request": api.max_points_per_request,
        "request_deadline_s": api.request_deadline_s,
        "auth": bool(api.api_keys),
        "auth_reads": api.auth_reads,
        "auth_ops": api.auth_ops,
        "rate_limit": rate,
        "timegpt_configured": bool(models.timegpt_api_key),
        "webhook_secret_configured": bool(hooks.webhook_secret),
        "alertmanager_urls": len(hooks.alertmanager_urls),
    }


async def _pending(queue: RefitQueue) -> int | None:
    with contextlib.suppress(Exception):  # a down Redis must not take the status page down
        return int(await queue.pending())
    return None


@get("/v1/status")
async def status(service: TsadService) -> StatusResponse:
    """Buffer, model workers, refit queue and the settings that matter (no secrets)."""
    settings = service.settings
    redis_url = settings.buffer.redis_url
    reachable = await service.ready()
    count = None
    if reachable:
        with contextlib.suppress(Exception):
            count = len(await service.list_series())
    return StatusResponse(
        version=tsad.__version__,
        pid=os.getpid(),
        buffer=BufferStatus(
            kind=type(service.buffer).__name__,
            reachable=reachable,
            series=count,
            redis_url=redacted_url(redis_url) if redis_url else None,
        ),
        workers=WorkerStatus(
            runner=settings.models.runner,
            model_workers=settings.models.model_workers,
            embedded_worker=bool(redis_url) and settings.worker.embedded,
        ),
        refit_queue=QueueStatus(
            kind=type(service.scheduler).__name__,
            pending=await _pending(service.scheduler),
        ),
        settings=visible_settings(settings),
    )


status_routes = Router(path="/", route_handlers=[status], tags=["status"])
