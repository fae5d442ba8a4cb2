"""TimeGPT-compatible HTTP routes: what the ``nixtla`` SDK calls, answered by tsad.

``NixtlaClient(api_key=KEY, base_url="http://tsad:8000")`` works unchanged. The
wire shapes and the model mapping live in ``tsad.integrations.timegpt_compat``;
this room only does HTTP: Bearer auth against ``TSAD_API_KEYS``, zstd bodies,
running the models off the event loop, and errors as JSON with a ``detail``
(the field the SDK shows).

Configuration comes from the app's state: ``settings`` (a ``tsad.Settings``) and,
when present, ``runner`` (an object with ``async run(fn, *args, timeout=...)``
such as ``tsad.runner.ModelRunner``); without a runner, work goes to a thread.
"""

from __future__ import annotations

import functools
import hmac
from typing import Any

import anyio
import anyio.to_thread
import msgspec
from litestar import Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from tsad.errors import DeadlineExceeded, TooLarge, TsadError, Unauthorized
from tsad.integrations import timegpt_compat as compat
from tsad.settings import Settings

JSON = "application/json"


def _settings(conn: ASGIConnection[Any, Any, Any, Any]) -> Settings:
    settings = conn.app.state.get("settings")
    return settings if isinstance(settings, Settings) else Settings()


def _bearer_guard(conn: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """The SDK sends ``Authorization: Bearer KEY``; checked only when keys are set."""
    keys = _settings(conn).api.api_keys
    if not keys:
        return
    scheme, _, token = conn.headers.get("authorization", "").partition(" ")
    token = token.strip()
    # compare against every key so timing does not reveal which prefix matched
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(token.encode(), key.encode())
    if scheme.lower() != "bearer" or not ok:
        raise Unauthorized("missing or invalid API key: send 'Authorization: Bearer <key>'")


def _error(_: Request[Any, Any, Any], exc: TsadError) -> Response[bytes]:
    body = {"type": "about:blank", "title": exc.title, "status": exc.status, "detail": exc.detail}
    body.update({k: v for k, v in exc.extra.items() if isinstance(v, int | float | str)})
    headers = {}
    retry = getattr(exc, "retry_after_s", None)
    if retry is not None:
        headers["retry-after"] = str(retry)
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


async def _answer(request: Request[Any, Any, Any], kind: str) -> Response[bytes]:
    settings = _settings(request)
    raw = await _body(request, settings.api.max_body_bytes)
    req = compat.decode(raw, compat.REQUEST_TYPES[kind], settings.api)
    job = functools.partial(compat.run_job, kind, req, settings.models)
    deadline = settings.api.request_deadline_s
    runner = request.app.state.get("runner")
    if runner is not None and hasattr(runner, "run"):
        result = await runner.run(job, timeout=deadline)
    else:
        try:
            with anyio.fail_after(deadline):
                result = await anyio.to_thread.run_sync(job, abandon_on_cancel=True)
        except TimeoutError:
            raise DeadlineExceeded(f"the model did not finish within {deadline:g} s") from None
    body, used, degraded = compat.unwrap(result)
    return Response(
        msgspec.json.encode(body),
        media_type=JSON,
        headers={"tsad-model-used": ",".join(used), "tsad-degraded": str(degraded).lower()},
    )


@get("/model_params", sync_to_thread=False)
def model_params(request: Request[Any, Any, Any], freq: str = "h") -> dict[str, Any]:
    """The SDK asks how much history to send (``input_size``) and the natural horizon."""
    return {"detail": compat.model_params(freq, _settings(request).models)}


@get("/validate_api_key", sync_to_thread=False)
def validate_api_key() -> dict[str, str]:
    """Reaching here means the guard accepted the key (or auth is off)."""
    return {"detail": "API key is valid"}


@post("/v2/forecast", status_code=200)
async def forecast(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await _answer(request, "forecast")


@post("/v2/cross_validation", status_code=200)
async def cross_validation(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await _answer(request, "cross_validation")


@post("/v2/anomaly_detection", status_code=200)
async def anomaly_detection(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await _answer(request, "anomaly_detection")


@post("/v2/online_anomaly_detection", status_code=200)
async def online_anomaly_detection(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await _answer(request, "online_anomaly_detection")


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
    guards=[_bearer_guard],
    exception_handlers={TsadError: _error},
    include_in_schema=True,
    tags=["TimeGPT-compatible"],
)
