"""tsad with a real Alertmanager (Debian prometheus-alertmanager) on loopback.

Alertmanager → tsad: an alert posted to Alertmanager's API is delivered to tsad's
webhook (bearer auth) and lands in the alert-count series. tsad → Alertmanager:
an anomaly flagged on ingest is posted to ``/api/v2/alerts``, listed by its API,
and resolved when the series recovers.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np
import pytest

from tests.monitoring_peers import ALERTMANAGER, AlertmanagerServer, TsadServer, http_json, wait_for
from tsad.api.app import create_app
from tsad.integrations.hub import Integrations
from tsad.integrations.outbound import ALERT_NAME
from tsad.series import format_ts
from tsad.service import TsadService
from tsad.settings import IntegrationSettings, ModelSettings, Settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        ALERTMANAGER is None,
        reason="prometheus-alertmanager is not installed "
        "(apt-get install -y prometheus-alertmanager)",
    ),
]

SECRET = "peer-secret"
HOUR = 3_600_000


@pytest.fixture(scope="module")
def tsad_server() -> Iterator[TsadServer]:
    """tsad on a free loopback port, webhooks requiring a bearer secret."""
    settings = Settings(
        models=ModelSettings(runner="thread"),
        integrations=IntegrationSettings(webhook_secret=SECRET),
    )
    app = create_app(settings)
    server = TsadServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def alertmanager(tsad_server: TsadServer) -> Iterator[AlertmanagerServer]:
    """Alertmanager sending every group to tsad's webhook at once (group_wait 0s)."""
    am = AlertmanagerServer(f"{tsad_server.url}/v1/webhooks/alertmanager", bearer=SECRET)
    am.start("/-/ready")
    yield am
    am.cleanup()


def series_total(server: TsadServer, series_id: str) -> float | None:
    try:
        body = http_json(f"{server.url}/v1/series/{series_id}/points")
    except Exception:
        return None
    return float(sum(p["value"] for p in body["points"]))


def test_alert_posted_to_alertmanager_lands_in_alert_count_series(
    tsad_server: TsadServer, alertmanager: AlertmanagerServer
) -> None:
    """Alerts sent through Alertmanager reach tsad's webhook and are counted once each."""
    now = format_ts(int(time.time() * 1000))
    alerts = [
        {"labels": {"alertname": "DiskFull", "instance": f"db-{i}"}, "startsAt": now}
        for i in range(3)
    ]
    http_json(f"{alertmanager.url}/api/v2/alerts", alerts)
    wait_for(
        lambda: series_total(tsad_server, "alerts:DiskFull") == 3,
        20,
        f"alerts:DiskFull to count 3 ({alertmanager.log()})",
    )
    assert series_total(tsad_server, "alerts:total") == 3
    # resolving them sends a resolved notification, which must not add to the count
    ended = format_ts(int(time.time() * 1000))
    http_json(f"{alertmanager.url}/api/v2/alerts", [{**a, "endsAt": ended} for a in alerts])

    def resolved_seen() -> bool:
        text = _get_text(f"{tsad_server.url}/metrics")
        return 'tsad_webhook_alerts_total{outcome="resolved",source="alertmanager"} 3.0' in text

    wait_for(resolved_seen, 20, "the resolved notification")
    assert series_total(tsad_server, "alerts:DiskFull") == 3


def _get_text(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as resp:
        return str(resp.read().decode())


@pytest.fixture
async def outbound_service(alertmanager: AlertmanagerServer) -> AsyncIterator[Any]:
    """A tsad service whose outbound alerts go to the real Alertmanager."""
    settings = Settings(
        models=ModelSettings(runner="thread"),
        integrations=IntegrationSettings(
            alertmanager_urls=(alertmanager.url,),
            alert_recovery=2,
            external_url="http://tsad.test:8000",
        ),
    )
    service = TsadService(settings)
    hub = Integrations(service, settings)
    yield service, hub
    await hub.close()
    await service.close()


async def test_outbound_anomaly_alert_is_listed_by_alertmanager(
    outbound_service: Any, alertmanager: AlertmanagerServer, tsad_server: TsadServer
) -> None:
    """An incident (two anomalous points, one flag) fires TsadAnomaly in Alertmanager."""
    service, hub = outbound_service
    rng = np.random.default_rng(3)
    end = int(time.time() * 1000) // HOUR * HOUR - 8 * HOUR
    ts = end - HOUR * np.arange(72, dtype=np.int64)[::-1]
    level = 50 + 5 * np.sin(2 * np.pi * np.arange(80) / 24) + rng.normal(0, 0.5, 80)
    await service.ingest("shop.latency", ts, level[:72])
    assert await service.refit("shop.latency") is not None

    async def feed(k: int, bump: float) -> None:
        at = np.array([end + HOUR * k], np.int64)
        result = await service.ingest("shop.latency", at, np.array([level[72 + k] + bump]))
        # what the service's ingest hook does in the app (fed explicitly: idempotent)
        await hub.on_ingest(result)

    await feed(1, 40.0)
    await feed(2, 40.0)
    assert await hub.outbound.notifier.drain(10)

    def listed() -> list[dict[str, Any]]:
        return [
            a
            for a in alertmanager.alerts(filter=f'alertname="{ALERT_NAME}"')
            if a["labels"].get("series_id") == "shop.latency"
        ]

    (alert,) = wait_for(listed, 10, "TsadAnomaly in Alertmanager")
    assert alert["labels"]["direction"] == "up"
    assert alert["startsAt"].startswith(format_ts(end + HOUR)[:19])
    assert alert["generatorURL"] == "http://tsad.test:8000/v1/series/shop.latency"
    assert float(alert["annotations"]["value"]) > float(alert["annotations"]["hi"])
    # Alertmanager routes it on to its webhook: tsad counts its own alert too
    wait_for(lambda: series_total(tsad_server, f"alerts:{ALERT_NAME}") == 1, 20, "loop back")

    await feed(3, 0.0)
    await feed(4, 0.0)
    assert await hub.outbound.notifier.drain(10)
    wait_for(lambda: not listed(), 10, "the alert to resolve")
    assert hub.outbound.notifier.stats.sent == 2 and hub.outbound.notifier.stats.failed == 0
