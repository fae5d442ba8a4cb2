"""TimeGPT-compatible HTTP routes: what the ``nixtla`` SDK calls, answered by tsad.

``NixtlaClient(api_key=KEY, base_url="http://tsad:8000")`` works unchanged. The
wire shapes and the model mapping live in ``tsad.integrations.timegpt_compat``;
this room only does HTTP (Bearer auth is ``tsad.api.auth``'s guard): zstd bodies,
running the models off the event loop, and errors as JSON with a ``detail``
(the field the SDK shows).

Handlers take the ``service`` dependency (``tsad.service.TsadService``) for its
settings and its model runner, like the ``/v1`` routes.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router, get, post

from tsad.api.errors import WWW_AUTHENTICATE
from tsad.errors import TooLarge, TsadError
from tsad.integrations import timegpt_compat as compat
from tsad.service import TsadService

JSON = "application/json"
Req = Request[Any, Any, Any]


def _error(_: Request[Any, Any, Any], exc: TsadError) -> Response[bytes]:
    body = {"type": "about:blank", "title": exc.title, "status": exc.status, "detail": exc.detail}
    body.update({k: v for k, v in exc.extra.items() if isinstance(v, int | float | str)})
    headers = {}
    retry = getattr(exc, "retry_after_s", None)
    if retry is not None:
        headers["retry-after"] = str(retry)
    if exc.status == 401:
        headers["www-authenticate"] = WWW_AUTHENTICATE
    return Response(
        msgspec.json.encode(body),
        status_code=exc.status,
        media_type="application/problem+json",
        headers=headers,
    )


async def _body(request: Request[Any, Any, Any], limit: int) -> bytes:
    """The request body, decompressed; refuses more than ``limit`` bytes either way."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body exceeds {limit} bytes")
        chunks.append(chunk)
    return compat.decompress(b"".join(chunks), request.headers.get("content-encoding"), limit)


async def _answer(
    request: Request[Any, Any, Any], service: TsadService, kind: str
) -> Response[bytes]:
    settings = service.settings
    raw = await _body(request, settings.api.max_body_bytes)
    req = compat.decode(raw, compat.REQUEST_TYPES[kind], settings.api)
    result = await service.runner.run(
        compat.run_job, kind, req, settings.models, timeout=settings.api.request_deadline_s
    )
    body, used, degraded = compat.unwrap(result)
    return Response(
        msgspec.json.encode(body),
        status_code=200,
        media_type=JSON,
        headers={"tsad-model-used": ",".join(used), "tsad-degraded": str(degraded).lower()},
    )


@get("/model_params", sync_to_thread=False)
def model_params(
    request: Request[Any, Any, Any], service: TsadService, freq: str = "h"
) -> dict[str, Any]:
    """How much history the SDK should send (``input_size``) and the natural horizon."""
    return {"detail": compat.model_params(freq, service.settings.models)}


@get("/validate_api_key", sync_to_thread=False)
def validate_api_key(request: Request[Any, Any, Any], service: TsadService) -> dict[str, str]:
    """200 when the Bearer key is accepted (or auth is off), 401 otherwise."""
    return {"detail": "API key is valid"}


@post("/v2/forecast", status_code=200)
async def forecast(request: Req, service: TsadService) -> Response[bytes]:
    return await _answer(request, service, "forecast")


@post("/v2/cross_validation", status_code=200)
async def cross_validation(
    request: Request[Any, Any, Any], service: TsadService
) -> Response[bytes]:
    return await _answer(request, service, "cross_validation")


@post("/v2/anomaly_detection", status_code=200)
async def anomaly_detection(
    request: Request[Any, Any, Any], service: TsadService
) -> Response[bytes]:
    return await _answer(request, service, "anomaly_detection")


@post("/v2/online_anomaly_detection", status_code=200)
async def online_anomaly_detection(
    request: Request[Any, Any, Any], service: TsadService
) -> Response[bytes]:
    return await _answer(request, service, "online_anomaly_detection")


timegpt_routes = Router(
    path="/",
    route_handlers=[
        model_params,
        validate_api_key,
        forecast,
        cross_validation,
        anomaly_detection,
        online_anomaly_detection,
    ],
    exception_handlers={TsadError: _error},
    # the SDK always sends its key: with TSAD_API_KEYS set, every route here checks it
    # (tsad.api.auth's app-wide guard)
    opt={"auth": "always"},
    include_in_schema=True,
    tags=["TimeGPT-compatible"],
)
