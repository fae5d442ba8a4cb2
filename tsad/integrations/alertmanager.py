"""Alertmanager's wire shapes: the webhook it sends (version "4") and the alerts it accepts.

Inbound, ``parse_alertmanager`` decodes a ``webhook_config`` notification into
``IncomingAlert`` values for the alert-count series; outbound, ``postable_alert``
builds one item of the JSON list ``POST /api/v2/alerts`` takes. Grafana's webhook
contact point extends the same shape (``tsad.integrations.grafana``), so the
shared decoding lives here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import msgspec

from tsad.errors import BadRequest, InvalidInput
from tsad.integrations.alerts import IncomingAlert
from tsad.series import format_ts

ALERTMANAGER_VERSION = "4"
# Alertmanager and Grafana write the zero time for "not set"
_UNSET_YEAR = 1


class WireAlert(msgspec.Struct, kw_only=True):
    """One alert of a notification, as both Alertmanager and Grafana send it."""

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    startsAt: str | None = None
    endsAt: str | None = None
    generatorURL: str = ""
    fingerprint: str | None = None


class AlertmanagerPayload(msgspec.Struct, kw_only=True):
    """An Alertmanager webhook notification (``version`` "4")."""

    version: str
    status: Literal["firing", "resolved"]
    alerts: list[WireAlert]
    receiver: str = ""
    groupLabels: dict[str, str] = {}
    commonLabels: dict[str, str] = {}
    commonAnnotations: dict[str, str] = {}
    externalURL: str = ""
    groupKey: str = ""
    truncatedAlerts: int = 0


P = TypeVar("P", bound=msgspec.Struct)


def decode_payload(body: bytes, kind: type[P], source: str) -> P:
    """Decode a webhook body, turning msgspec's errors into client errors that say where.

    Invalid JSON is a 400 (BadRequest); JSON of the wrong shape a 422 (InvalidInput)
    naming the path, e.g. ``Expected `str`, got `int` - at `$.alerts[0].status```.
    """
    if not body.strip():
        raise BadRequest(f"empty body: expected a {source} webhook payload (JSON)")
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"not a {source} webhook payload: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None


def parse_alertmanager(body: bytes) -> tuple[AlertmanagerPayload, list[IncomingAlert]]:
    """An Alertmanager webhook body → the payload and its alerts, normalised."""
    payload = decode_payload(body, AlertmanagerPayload, "Alertmanager")
    if payload.version != ALERTMANAGER_VERSION:
        raise InvalidInput(
            f"unsupported Alertmanager webhook version {payload.version!r}: "
            f"tsad reads version {ALERTMANAGER_VERSION!r}"
        )
    return payload, incoming_alerts(payload.alerts)


def incoming_alerts(alerts: list[WireAlert]) -> list[IncomingAlert]:
    """Normalise wire alerts; a bad timestamp is named by its alert index."""
    out: list[IncomingAlert] = []
    for i, alert in enumerate(alerts):
        starts = parse_wire_time(alert.startsAt, f"alerts[{i}].startsAt")
        out.append(
            IncomingAlert(
                rule=alert.labels.get("alertname", ""),
                fingerprint=alert.fingerprint or label_fingerprint(alert.labels),
                status=alert.status,
                starts_ms=starts,
            )
        )
    return out


def parse_wire_time(raw: str | None, where: str) -> int | None:
    """RFC 3339 (nanoseconds allowed) → epoch ms; None for missing or the zero time."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{where}: cannot parse time {raw!r} (expected RFC 3339)") from None
    if dt.year <= _UNSET_YEAR:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


def label_fingerprint(labels: Mapping[str, str]) -> str:
    """A stable fingerprint from the label set, for senders that omit one."""
    digest = hashlib.sha256()
    for key in sorted(labels):
        digest.update(key.encode() + b"\xff" + labels[key].encode() + b"\xfe")
    return digest.hexdigest()[:16]


def postable_alert(
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    *,
    starts_ms: int,
    ends_ms: int | None = None,
    generator_url: str | None = None,
) -> dict[str, Any]:
    """One item of Alertmanager's ``POST /api/v2/alerts`` body.

    Without ``ends_ms`` Alertmanager keeps the alert firing until its
    ``resolve_timeout``; senders re-post while the condition holds.
    """
    item: dict[str, Any] = {
        "labels": dict(labels),
        "annotations": dict(annotations),
        "startsAt": format_ts(starts_ms),
    }
    if ends_ms is not None:
        item["endsAt"] = format_ts(ends_ms)
    if generator_url:
        item["generatorURL"] = generator_url
    return item
