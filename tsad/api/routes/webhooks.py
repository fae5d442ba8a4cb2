"""Webhook receivers: Grafana alerting (payload version "1") and Alertmanager (version "4").

Each firing alert adds one to its rule's alert-count series and to
``alerts:total`` (see ``tsad.integrations.alerts``); the answer lists the buckets
written and any of them scored as anomalous — an alert storm. Auth is optional:
when ``TSAD_WEBHOOK_SECRET`` (or ``TSAD_API_KEYS``) is set, a request must carry
it as ``Authorization: Bearer <secret>`` (what Alertmanager's ``http_config`` and
Grafana's webhook "Authorization header" send) or ``X-Tsad-Webhook-Secret``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from litestar import Request, Router, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from tsad.api import encode
from tsad.api.metrics import Metrics
from tsad.api.openapi import json_body
from tsad.api.schemas import ScoredPoint, Wire
from tsad.errors import Unauthorized
from tsad.integrations.alertmanager import AlertmanagerPayload, parse_alertmanager
from tsad.integrations.alerts import IncomingAlert
from tsad.integrations.grafana import GrafanaPayload, parse_grafana
from tsad.integrations.hub import attach
from tsad.service import TsadService
from tsad.settings import Settings

SECRET_HEADER = "x-tsad-webhook-secret"


class WebhookSeries(Wire):
    """One alert-count series written by a webhook."""

    series_id: str
    buckets: int
    anomalies: list[ScoredPoint]


class WebhookResponse(Wire):
    """What a webhook notification did to the alert-count series."""

    source: str
    receiver: str
    status: str
    received: int
    counted: int
    repeats: int
    resolved: int
    truncated: int
    series: list[WebhookSeries]


def _secrets(settings: Settings) -> tuple[str, ...]:
    secret = settings.integrations.webhook_secret
    return ((secret,) if secret else ()) + settings.api.api_keys


def webhook_guard(conn: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Require the shared secret or an API key when either is configured."""
    settings = conn.app.state.get("settings")
    accepted = _secrets(settings) if isinstance(settings, Settings) else ()
    if not accepted:
        return
    scheme, _sep, token = conn.headers.get("authorization", "").partition(" ")
    presented = [conn.headers.get(SECRET_HEADER, "").strip()]
    if scheme.lower() == "bearer":
        presented.append(token.strip())
    ok = False
    # every comparison runs so timing does not tell which secret nearly matched
    for candidate in presented:
        for secret in accepted:
            ok |= bool(candidate) and hmac.compare_digest(candidate.encode(), secret.encode())
    if not ok:
        raise Unauthorized(
            "missing or wrong webhook secret: send 'Authorization: Bearer <secret>' "
            f"or '{SECRET_HEADER}: <secret>'"
        )


async def _record(
    source: str,
    request: Request[Any, Any, Any],
    service: TsadService,
    metrics: Metrics,
    parse: Callable[[bytes], tuple[Any, list[IncomingAlert]]],
) -> WebhookResponse:
    payload, alerts = parse(await request.body())
    hub = attach(request.app.state, service)
    report = await hub.counter.record(alerts)
    if hub.metrics is not None:
        hub.metrics.count_webhook(source, report.counted, report.repeats, report.resolved)
    series = []
    for result in report.results:
        anomalies = result.anomalies
        up = int((anomalies.direction > 0).sum())
        metrics.count_ingest(result.accepted, up, len(anomalies) - up)
        series.append(
            WebhookSeries(
                series_id=result.series_id,
                buckets=len(result.scored),
                anomalies=encode.scored_points(anomalies),
            )
        )
    return WebhookResponse(
        source=source,
        receiver=payload.receiver,
        status=payload.status,
        received=report.received,
        counted=report.counted,
        repeats=report.repeats,
        resolved=report.resolved,
        truncated=payload.truncatedAlerts,
        series=series,
    )


@post(
    "/v1/webhooks/grafana",
    status_code=200,
    guards=[webhook_guard],
    operation_class=json_body(GrafanaPayload),
)
async def grafana_webhook(
    request: Request[Any, Any, Any], service: TsadService, metrics: Metrics
) -> WebhookResponse:
    """Grafana alerting webhook contact point: firing alerts feed the alert-count series."""
    return await _record("grafana", request, service, metrics, parse_grafana)


@post(
    "/v1/webhooks/alertmanager",
    status_code=200,
    guards=[webhook_guard],
    operation_class=json_body(AlertmanagerPayload),
)
async def alertmanager_webhook(
    request: Request[Any, Any, Any], service: TsadService, metrics: Metrics
) -> WebhookResponse:
    """Alertmanager ``webhook_config`` receiver: firing alerts feed the alert-count series."""
    return await _record("alertmanager", request, service, metrics, parse_alertmanager)


webhook_routes = [
    Router(path="/", route_handlers=[grafana_webhook, alertmanager_webhook], tags=["webhooks"])
]
