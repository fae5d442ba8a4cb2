"""tsad scraped by a real Prometheus (Debian prometheus) on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.monitoring_peers import PROMETHEUS, PrometheusServer, TsadServer, http_json, wait_for
from tsad.api.app import create_app
from tsad.settings import IntegrationSettings, ModelSettings, Settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        PROMETHEUS is None, reason="prometheus is not installed (apt-get install -y prometheus)"
    ),
]

T0 = 1_704_067_200


@pytest.fixture(scope="module")
def tsad_server() -> Iterator[TsadServer]:
    """tsad with per-series gauges on, holding 30 points of one series."""
    settings = Settings(
        models=ModelSettings(runner="thread"),
        integrations=IntegrationSettings(metrics_per_series=True),
    )
    app = create_app(settings)
    server = TsadServer(app).start()
    points = [[T0 + 60 * i, float(i % 7)] for i in range(30)]
    http_json(f"{server.url}/v1/series/web.rps/points", {"points": points})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def prometheus(tsad_server: TsadServer) -> Iterator[PrometheusServer]:
    """Prometheus scraping tsad's /metrics every second."""
    prom = PrometheusServer(f"127.0.0.1:{tsad_server.port}")
    prom.start("/-/ready")
    yield prom
    prom.cleanup()


def test_tsad_target_is_up(prometheus: PrometheusServer) -> None:
    """Prometheus scrapes tsad's /metrics successfully: the target's health is 'up'."""

    def up() -> bool:
        targets = http_json(f"{prometheus.url}/api/v1/targets")["data"]["activeTargets"]
        return any(t["labels"]["job"] == "tsad" and t["health"] == "up" for t in targets)

    wait_for(up, 20, f"the tsad target to be up ({prometheus.log()})")
    (sample,) = wait_for(lambda: prometheus.query('up{job="tsad"}'), 10, "up{job='tsad'}")
    assert sample["value"][1] == "1"


def test_tsad_metrics_are_queryable(prometheus: PrometheusServer) -> None:
    """tsad's request and ingest counters are queryable through PromQL."""
    (points,) = wait_for(lambda: prometheus.query("tsad_points_ingested_total"), 20, "points")
    assert points["value"][1] == "30"
    requests = wait_for(
        lambda: prometheus.query('tsad_http_requests_total{route="/metrics"}'), 20, "requests"
    )
    assert float(requests[0]["value"][1]) >= 1


def test_webhook_counters_are_queryable(
    tsad_server: TsadServer, prometheus: PrometheusServer
) -> None:
    """Alerts received on a webhook show up in Prometheus by source and outcome."""
    alert = {"status": "firing", "labels": {"alertname": "X"}, "fingerprint": "f1"}
    body = {"version": "4", "status": "firing", "alerts": [alert]}
    http_json(f"{tsad_server.url}/v1/webhooks/alertmanager", body)
    query = 'tsad_webhook_alerts_total{source="alertmanager",outcome="counted"} > 0'
    (sample,) = wait_for(lambda: prometheus.query(query), 20, "webhook counter")
    assert sample["value"][1] == "1"


def test_buffer_size_and_per_series_gauges_are_queryable(prometheus: PrometheusServer) -> None:
    """Buffer size in points, and opt-in per-series gauges, are exported at each scrape."""
    (buffered,) = wait_for(lambda: prometheus.query("tsad_buffer_points"), 5, "buffer points")
    assert float(buffered["value"][1]) >= 30  # web.rps, plus any alert-count series
    (per_series,) = wait_for(
        lambda: prometheus.query('tsad_series_points{series_id="web.rps"}'), 5, "per-series"
    )
    assert per_series["value"][1] == "30"
