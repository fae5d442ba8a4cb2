"""The one place errors become HTTP answers: RFC 9457 problem details.

Every failure leaves as ``application/problem+json`` with ``type``, ``title``,
``status`` and ``detail``, plus the error's extra fields (``needed``, ``got``,
``limit``...). ``TsadError`` carries its own status; Litestar's exceptions (no
such route, wrong method, body over ``request_max_body_size``, a path or query
parameter of the wrong type) keep theirs; anything else is a 500 that is
logged with its traceback and told to the client without internals.
503s carry ``Retry-After``.

The Azure Anomaly Detector-compatible routes answer in that service's shape
instead (``AZURE_EXCEPTION_HANDLERS``, set on their router): a JSON body
``{"code", "message"}`` and the code again in the ``x-ms-error-code`` header;
``AzureInvalidRequest`` carries the service's own code and is a 400.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from tsad.errors import AzureInvalidRequest, ClientError, TsadError

log = logging.getLogger("tsad.api")

WWW_AUTHENTICATE = 'Bearer realm="tsad"'
PROBLEM_JSON = "application/problem+json"
_TYPE_PREFIX = "urn:tsad:problem:"
_RESERVED = frozenset({"type", "title", "status", "detail", "instance"})


def _slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    """A problem-details response; ``kind`` names the ``type`` URN (else about:blank)."""
    body: dict[str, Any] = {
        "type": f"{_TYPE_PREFIX}{kind}" if kind else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    for key, value in extra.items():
        if key not in _RESERVED and isinstance(value, str | int | float | bool | list | None):
            body[key] = value
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _retry_headers(exc: Exception) -> dict[str, str] | None:
    retry = getattr(exc, "retry_after_s", None)
    return {"Retry-After": str(int(retry))} if retry is not None else None


def tsad_error(request: Request[Any, Any, Any], exc: TsadError) -> Response[dict[str, Any]]:
    """Domain errors: their own status, title and detail."""
    status = exc.status
    headers = _retry_headers(exc)
    if status == 503 and headers is None:
        headers = {"Retry-After": "5"}
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": WWW_AUTHENTICATE}
    if status >= 500:
        log.warning(
            "request failed method=%s path=%s status=%d error=%s detail=%s",
            request.method,
            request.url.path,
            status,
            type(exc).__name__,
            exc.detail,
        )
    return problem(
        status, exc.title, exc.detail, kind=_slug(type(exc).__name__), headers=headers, **exc.extra
    )


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    """Litestar's own exceptions, reworded where Litestar's text would not help."""
    status = exc.status_code
    if isinstance(exc, ValidationException):
        # path or query parameters of the wrong type: well-formed but invalid
        fields = exc.extra if isinstance(exc.extra, list) else []
        where = "; ".join(
            f"{f.get('source', 'parameter')} {f.get('key')!r}: {f.get('message')}"
            for f in fields
            if isinstance(f, dict)
        )
        return problem(422, "Invalid input", where or exc.detail, kind="invalid-input")
    if status == 413:
        limit = request.app.request_max_body_size
        return problem(
            413,
            "Request too large",
            f"the request body is larger than the limit of {limit} bytes (TSAD_MAX_BODY_BYTES)",
            kind="too-large",
            limit=limit,
        )
    if status == 429:
        # Litestar's limiter says when the window resets; clients read Retry-After
        headers = dict(exc.headers or {})
        reset = headers.get("RateLimit-Reset", "1")
        retry = str(max(1, int(reset))) if reset.isdigit() else "1"
        policy = headers.get("RateLimit-Policy", "")
        return problem(
            429,
            "Too many requests",
            f"rate limit exceeded (policy {policy!r}, TSAD_RATE_LIMIT); retry after {retry} s",
            kind="rate-limited",
            headers={**headers, "Retry-After": retry},
        )
    if status == 404:
        detail = f"no route {request.url.path!r}; see /schema/openapi.json"
        return problem(404, "Not found", detail, kind="no-route")
    if status == 405:
        detail = f"{request.method} is not allowed on {request.url.path!r}"
        return problem(405, "Method not allowed", detail, headers=dict(exc.headers or {}))
    if status >= 500:
        log.error("HTTP %d on %s %s: %s", status, request.method, request.url.path, exc.detail)
    title = _TITLES.get(status, "Error")
    return problem(status, title, exc.detail or title, headers=dict(exc.headers or {}))


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """A bug: logged in full, answered without internals."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(
        500,
        "Internal error",
        "tsad failed to handle this request; the error is logged on the server",
        kind="internal",
    )


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    409: "Conflict",
    415: "Unsupported media type",
    429: "Too many requests",
    503: "Service unavailable",
}

EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    TsadError: tsad_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}


# --------------------------------------------------------------------------- Azure shape

AZURE_ERROR_HEADER = "x-ms-error-code"
_AZURE_CODES = {
    401: "Unauthorized",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "RequestTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def azure_error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    """Azure Anomaly Detector's error answer: ``{"code", "message"}`` + ``x-ms-error-code``."""
    return Response(
        {"code": code, "message": message},
        status_code=status,
        media_type="application/json",
        headers={**(headers or {}), AZURE_ERROR_HEADER: code},
    )


def azure_tsad_error(request: Request[Any, Any, Any], exc: TsadError) -> Response[dict[str, Any]]:
    """Domain errors on the Azure routes; a client error without an Azure code is BadArgument."""
    if isinstance(exc, AzureInvalidRequest):
        return azure_error_response(400, exc.code, exc.detail)
    headers = _retry_headers(exc)
    status = exc.status
    if status == 503 and headers is None:
        headers = {"Retry-After": "5"}
    if status == 401:
        message = (
            "Access denied due to a missing or invalid key: send it as "
            "'Ocp-Apim-Subscription-Key: <key>' (or 'Authorization: Bearer <key>')."
        )
        return azure_error_response(401, "Unauthorized", message, headers)
    if status >= 500:
        log.warning(
            "request failed method=%s path=%s status=%d error=%s detail=%s",
            request.method,
            request.url.path,
            status,
            type(exc).__name__,
            exc.detail,
        )
        code = _AZURE_CODES.get(status, "InternalServerError")
        return azure_error_response(status, code, exc.detail, headers)
    client = isinstance(exc, ClientError)
    code = _AZURE_CODES.get(status, "BadArgument") if client else "BadArgument"
    return azure_error_response(status, code, exc.detail, headers)


def azure_http_error(
    request: Request[Any, Any, Any], exc: HTTPException
) -> Response[dict[str, Any]]:
    """Litestar's own exceptions on the Azure routes, in the Azure shape."""
    status = exc.status_code
    if isinstance(exc, ValidationException):
        return azure_error_response(400, "BadArgument", str(exc.detail))
    if status == 413:
        limit = request.app.request_max_body_size
        message = f"the request body is larger than {limit} bytes (TSAD_MAX_BODY_BYTES)"
        return azure_error_response(413, "RequestTooLarge", message)
    code = _AZURE_CODES.get(status, "BadArgument" if status < 500 else "InternalServerError")
    return azure_error_response(status, code, exc.detail or code, dict(exc.headers or {}))


def azure_unexpected_error(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
    """A bug on an Azure route: logged in full, answered without internals."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    message = "tsad failed to handle this request; the error is logged on the server"
    return azure_error_response(500, "InternalServerError", message)


AZURE_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    TsadError: azure_tsad_error,
    HTTPException: azure_http_error,
    Exception: azure_unexpected_error,
}
