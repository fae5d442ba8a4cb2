"""Bearer-key auth for the HTTP API, from ``TSAD_API_KEYS``.

With no keys configured every route is open (the embedded default). With keys,
each route falls in one access class, read from its ``opt["auth"]`` or else
from the HTTP method:

* ``write`` — POST/PUT/PATCH/DELETE (appends, deletes, detect, forecast): a key
  is always required;
* ``read`` — GET/HEAD (and Grafana's read-only POST queries): a key only with
  ``TSAD_AUTH_READS=1``;
* ``ops`` — ``/health``, ``/ready``, ``/metrics``: a key only with
  ``TSAD_AUTH_OPS=1``, so probes and scrapers keep working by default;
* ``always`` — the TimeGPT- and Azure-compatible routes (their SDKs always send one);
* ``public`` — the web console's pages and static assets (no data in them: the
  console's own API calls carry the key and are checked like any client's);
* routes guarded by the webhook shared secret are left to that guard.

A key is read from ``Authorization: Bearer <key>`` or, as Azure's SDKs send it,
``Ocp-Apim-Subscription-Key: <key>``. Keys are compared with
``hmac.compare_digest`` against every configured key so timing reveals neither
a key nor which one nearly matched; a key is never logged or echoed (the rate
limiter only sees a short hash of it).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Literal

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from tsad.api.routes.webhooks import webhook_guard
from tsad.errors import Unauthorized
from tsad.settings import Settings

Access = Literal["write", "read", "ops", "always", "public"]
AUTH_OPT = "auth"
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of ``Authorization: Bearer <token>``, or None."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a request carries: ``Authorization: Bearer <key>``, else Azure's
    ``Ocp-Apim-Subscription-Key: <key>`` (what the Azure Anomaly Detector SDKs send)."""
    token = bearer_token(headers)
    if token is not None:
        return token
    azure = headers.get("ocp-apim-subscription-key", "").strip()
    return azure or None


def key_matches(token: str | None, keys: tuple[str, ...]) -> bool:
    """Constant-time check of ``token`` against every key (no early exit)."""
    presented = (token or "").encode()
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(presented, key.encode())
    return ok and token is not None


def require_key(headers: Mapping[str, str], keys: tuple[str, ...]) -> None:
    """Raise ``Unauthorized`` unless the request carries one of ``keys``."""
    if keys and not key_matches(presented_key(headers), keys):
        raise Unauthorized("missing or invalid API key: send 'Authorization: Bearer <key>'")


def key_identity(headers: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    """A stable, non-reversible name for the request's key if it is a valid one.

    Only valid keys get their own identity: a client rotating made-up tokens must
    not earn a fresh rate-limit budget with each one.
    """
    token = presented_key(headers)
    if not keys or not key_matches(token, keys):
        return None
    assert token is not None
    return "key:" + hashlib.sha256(token.encode()).hexdigest()[:16]


def access_of(method: str, opt: Mapping[str, Any]) -> Access:
    """The access class of a request: the route's ``opt["auth"]``, else by method."""
    declared = opt.get(AUTH_OPT)
    if declared in ("write", "read", "ops", "always", "public"):
        return declared  # type: ignore[no-any-return]
    return "read" if method.upper() in _READ_METHODS else "write"


def needs_key(access: Access, settings: Settings) -> bool:
    """Whether a request of this class must carry a key under these settings."""
    api = settings.api
    if not api.api_keys or access == "public":
        return False
    if access == "read":
        return api.auth_reads
    if access == "ops":
        return api.auth_ops
    return True


async def api_key_guard(
    conn: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """App-wide guard: checks the key when the route's access class needs one.

    Async on purpose: Litestar runs a sync guard in a worker thread, a thread hop
    on every request for a check that takes microseconds."""
    settings = conn.app.state.get("settings")
    if not isinstance(settings, Settings) or not settings.api.api_keys:
        return
    if webhook_guard in (handler.guards or ()):
        return  # webhooks take the shared secret (or a key) in their own guard
    access = access_of(str(conn.scope.get("method") or "GET"), handler.opt)
    if needs_key(access, settings):
        require_key(conn.headers, settings.api.api_keys)
