"""Grafana alerting's webhook contact point payload (``version`` "1").

Grafana's notification is Alertmanager's webhook shape plus a few fields (``orgId``,
``title``, ``state``, ``message``, per-alert ``values``, ``valueString`` and links),
so decoding reuses ``tsad.integrations.alertmanager``. Legacy (pre-unified) Grafana
alerts, which had ``ruleName``/``evalMatches`` and no ``alerts`` list, are refused
with a message saying so.
"""

from __future__ import annotations

import msgspec

from tsad.errors import InvalidInput
from tsad.integrations.alertmanager import WireAlert, decode_payload, incoming_alerts
from tsad.integrations.alerts import IncomingAlert

GRAFANA_VERSION = "1"


class GrafanaAlert(WireAlert, kw_only=True):
    """One alert of a Grafana notification."""

    silenceURL: str = ""
    dashboardURL: str = ""
    panelURL: str = ""
    values: dict[str, float | None] | None = None
    valueString: str = ""


class GrafanaPayload(msgspec.Struct, kw_only=True):
    """A Grafana alerting webhook notification."""

    status: str
    alerts: list[GrafanaAlert]
    version: str = GRAFANA_VERSION
    receiver: str = ""
    orgId: int | None = None
    groupLabels: dict[str, str] = {}
    commonLabels: dict[str, str] = {}
    commonAnnotations: dict[str, str] = {}
    externalURL: str = ""
    groupKey: str = ""
    truncatedAlerts: int = 0
    title: str = ""
    state: str = ""
    message: str = ""


def parse_grafana(body: bytes) -> tuple[GrafanaPayload, list[IncomingAlert]]:
    """A Grafana webhook body → the payload and its alerts, normalised."""
    if b'"alerts"' not in body and b'"evalMatches"' in body:
        raise InvalidInput(
            "legacy Grafana alerting payload (evalMatches, no 'alerts'): "
            "use a unified alerting webhook contact point"
        )
    payload = decode_payload(body, GrafanaPayload, "Grafana")
    if payload.version != GRAFANA_VERSION:
        raise InvalidInput(
            f"unsupported Grafana webhook version {payload.version!r}: "
            f"tsad reads version {GRAFANA_VERSION!r}"
        )
    if payload.status not in ("firing", "resolved"):
        raise InvalidInput(f"status must be 'firing' or 'resolved', got {payload.status!r}")
    return payload, incoming_alerts(list(payload.alerts))
