"""TimeGPT-compatible HTTP routes: what the ``nixtla`` SDK calls, answered by tsad.

``NixtlaClient(api_key=KEY, base_url="http://tsad:8000")`` works unchanged. The
wire shapes and the model mapping live in ``tsad.integrations.timegpt_compat``, the
answers (calls to ``TsadService``) in ``tsad.integrations.timegpt_answers``; this
room only does HTTP (Bearer auth is ``tsad.api.auth``'s guard): zstd bodies in,
JSON out. Errors are the app's problem details (``tsad.api.errors``), whose
``detail`` is the field the SDK shows.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router, get, post

from tsad.errors import TooLarge
from tsad.integrations import timegpt_answers as answers
from tsad.integrations import timegpt_compat as compat
from tsad.service import TsadService

JSON = "application/json"
Req = Request[Any, Any, Any]


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
    answer = await answers.HANDLERS[kind](service, req)
    return Response(
        msgspec.json.encode(answer.body),
        status_code=200,
        media_type=JSON,
        headers={
            "tsad-model-used": ",".join(answer.used),
            "tsad-degraded": str(answer.degraded).lower(),
        },
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
    # the SDK always sends its key: with TSAD_API_KEYS set, every route here checks it
    # (tsad.api.auth's app-wide guard)
    opt={"auth": "always"},
    include_in_schema=True,
    tags=["TimeGPT-compatible"],
)
