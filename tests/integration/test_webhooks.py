"""Webhook receivers over HTTP: alert-count series, dedupe, auth and malformed payloads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tsad.api.app import create_app
from tsad.series import format_ts
from tsad.settings import IntegrationSettings, ModelSettings, Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "grafana"
MIN = 60_000


def grafana(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return body


def am_alert(fp: str, starts: str, rule: str = "InstanceDown", status: str = "firing") -> dict:
    return {
        "status": status,
        "labels": {"alertname": rule, "instance": fp},
        "annotations": {},
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.test/graph",
        "fingerprint": fp,
    }


def am_payload(*alerts: dict, status: str = "firing") -> dict[str, Any]:
    return {
        "receiver": "tsad",
        "status": status,
        "alerts": list(alerts),
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.test",
        "version": "4",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
    }


def make_client(**integrations: Any) -> AsyncTestClient[Any]:
    settings = Settings(
        models=ModelSettings(runner="thread"),
        integrations=IntegrationSettings(**integrations),
    )
    app = create_app(settings)
    return AsyncTestClient(app)


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Any]]:
    async with make_client() as c:
        yield c


async def counts(client: AsyncTestClient[Any], series_id: str) -> dict[str, float]:
    resp = await client.get(f"/v1/series/{series_id}/points")
    assert resp.status_code == 200, resp.text
    return {p["timestamp"]: p["value"] for p in resp.json()["points"] if p["value"]}


async def test_grafana_firing_alerts_count_per_rule_and_total(
    client: AsyncTestClient[Any],
) -> None:
    """Each firing Grafana alert adds 1 to its rule's series and to alerts:total."""
    resp = await client.post("/v1/webhooks/grafana", json=grafana("firing_several.json"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["received"], body["counted"], body["repeats"]) == (3, 3, 0)
    assert {s["series_id"] for s in body["series"]} == {
        "alerts:Disk_almost_full",
        "alerts:High_5xx_rate",
        "alerts:total",
    }
    assert await counts(client, "alerts:Disk_almost_full") == {
        "2024-03-04T09:15:00Z": 1.0,  # 10:15:37+01:00
        "2024-03-04T10:15:00Z": 1.0,
    }
    assert await counts(client, "alerts:High_5xx_rate") == {"2024-03-04T10:16:00Z": 1.0}
    total = await counts(client, "alerts:total")
    assert sum(total.values()) == 3


async def test_empty_buckets_between_counts_are_zero(client: AsyncTestClient[Any]) -> None:
    """Buckets with no alert between two counted ones are stored as zeros, not gaps."""
    await client.post("/v1/webhooks/grafana", json=grafana("firing_several.json"))
    resp = await client.get("/v1/series/alerts:Disk_almost_full/points")
    points = resp.json()["points"]
    assert len(points) == 61  # 09:15 .. 10:15 every minute
    assert sum(p["value"] for p in points) == 2


async def test_repeats_and_resolved_are_not_counted(client: AsyncTestClient[Any]) -> None:
    """Re-sent firing alerts of the same episode and resolved ones leave counts unchanged."""
    await client.post("/v1/webhooks/grafana", json=grafana("firing_several.json"))
    before = await counts(client, "alerts:total")
    again = (await client.post("/v1/webhooks/grafana", json=grafana("firing_several.json"))).json()
    assert (again["counted"], again["repeats"]) == (0, 3)
    resolved = (await client.post("/v1/webhooks/grafana", json=grafana("resolved.json"))).json()
    assert (resolved["counted"], resolved["resolved"]) == (0, 1)
    assert await counts(client, "alerts:total") == before


async def test_a_new_episode_of_the_same_alert_counts_again(client: AsyncTestClient[Any]) -> None:
    """After resolving, the same fingerprint firing with a new startsAt is a new episode."""
    one = am_alert("fp1", "2024-03-04T10:00:05Z")
    await client.post("/v1/webhooks/alertmanager", json=am_payload(one))
    await client.post(
        "/v1/webhooks/alertmanager",
        json=am_payload(am_alert("fp1", "2024-03-04T10:00:05Z", status="resolved")),
    )
    later = am_alert("fp1", "2024-03-04T10:03:10Z")
    body = (await client.post("/v1/webhooks/alertmanager", json=am_payload(later))).json()
    assert body["counted"] == 1
    assert await counts(client, "alerts:InstanceDown") == {
        "2024-03-04T10:00:00Z": 1.0,
        "2024-03-04T10:03:00Z": 1.0,
    }


async def test_later_webhook_raises_the_same_bucket(client: AsyncTestClient[Any]) -> None:
    """A second webhook for a bucket already counted raises that bucket's value."""
    first = am_payload(am_alert("a", "2024-03-04T10:00:01Z"), am_alert("b", "2024-03-04T10:00:20Z"))
    await client.post("/v1/webhooks/alertmanager", json=first)
    second = am_payload(am_alert("c", "2024-03-04T10:00:59Z"))
    await client.post("/v1/webhooks/alertmanager", json=second)
    assert await counts(client, "alerts:InstanceDown") == {"2024-03-04T10:00:00Z": 3.0}
    assert await counts(client, "alerts:total") == {"2024-03-04T10:00:00Z": 3.0}


async def test_truncated_group_is_reported(client: AsyncTestClient[Any]) -> None:
    """A truncated Grafana group counts the alerts it lists and reports how many were cut."""
    body = (await client.post("/v1/webhooks/grafana", json=grafana("truncated.json"))).json()
    assert (body["counted"], body["truncated"]) == (2, 38)
    assert await counts(client, "alerts:Pod_restarting") == {"2024-03-04T11:00:00Z": 2.0}


async def test_bucket_interval_is_configurable() -> None:
    """With a 5 minute bucket, alerts minutes apart share one bucket."""
    async with make_client(alert_bucket_ms=5 * MIN) as c:
        payload = am_payload(
            am_alert("a", "2024-03-04T10:01:00Z"), am_alert("b", "2024-03-04T10:04:59Z")
        )
        await c.post("/v1/webhooks/alertmanager", json=payload)
        assert await counts(c, "alerts:total") == {"2024-03-04T10:00:00Z": 2.0}


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("/v1/webhooks/grafana", b"{", 400, "not valid JSON"),
        ("/v1/webhooks/grafana", b"", 400, "empty body"),
        ("/v1/webhooks/grafana", b'{"status": "firing"}', 422, "`alerts`"),
        ("/v1/webhooks/alertmanager", b'{"version": "4", "status": "firing"}', 422, "alerts"),
        (
            "/v1/webhooks/alertmanager",
            json.dumps(am_payload(am_alert("x", "not a time"))).encode(),
            422,
            "alerts[0].startsAt",
        ),
        (
            "/v1/webhooks/alertmanager",
            json.dumps({**am_payload(), "version": "3"}).encode(),
            422,
            "version '3'",
        ),
    ],
)
async def test_malformed_payloads_get_problem_details(
    client: AsyncTestClient[Any], path: str, body: bytes, status: int, says: str
) -> None:
    """Malformed webhook bodies answer 4xx problem details saying what was wrong."""
    resp = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert says in resp.json()["detail"]
    listed = (await client.get("/v1/series")).json()
    assert not [s for s in listed["series"] if s["series_id"].startswith("alerts:")]


async def test_shared_secret_is_required_when_configured() -> None:
    """With a webhook secret set, requests need it as a bearer token or the secret header."""
    payload = am_payload(am_alert("a", "2024-03-04T10:00:00Z"))
    async with make_client(webhook_secret="s3cret") as c:
        missing = await c.post("/v1/webhooks/alertmanager", json=payload)
        assert missing.status_code == 401 and "webhook secret" in missing.json()["detail"]
        wrong = await c.post(
            "/v1/webhooks/alertmanager", json=payload, headers={"authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401
        bearer = await c.post(
            "/v1/webhooks/alertmanager", json=payload, headers={"authorization": "Bearer s3cret"}
        )
        assert bearer.status_code == 200 and bearer.json()["counted"] == 1
        header = await c.post(
            "/v1/webhooks/grafana",
            json=grafana("truncated.json"),
            headers={"x-tsad-webhook-secret": "s3cret"},
        )
        assert header.status_code == 200


async def test_webhook_counts_reach_prometheus_metrics(client: AsyncTestClient[Any]) -> None:
    """Webhook outcomes are counted in /metrics by source and outcome."""
    await client.post("/v1/webhooks/grafana", json=grafana("firing_several.json"))
    await client.post("/v1/webhooks/grafana", json=grafana("resolved.json"))
    text = (await client.get("/metrics")).text
    assert 'tsad_webhook_alerts_total{outcome="counted",source="grafana"} 3.0' in text
    assert 'tsad_webhook_alerts_total{outcome="resolved",source="grafana"} 1.0' in text


async def wait_for_band(client: AsyncTestClient[Any], series_id: str) -> None:
    for _ in range(600):
        if (await client.get(f"/v1/series/{series_id}")).json().get("band"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no band was fitted for {series_id}")


async def test_alert_storm_is_flagged_as_an_anomaly(client: AsyncTestClient[Any]) -> None:
    """With a day of alert counts behind it (posted as history, so the series is past its
    warm-up) and a trickle of webhooks, a storm in one bucket is an anomaly up."""
    t0 = 1_709_546_400_000
    day = 1440
    history = [[(t0 - (day - b) * MIN) / 1000, 1 + b % 3] for b in range(day)]
    await client.post("/v1/series/alerts:total/points", json={"points": history})
    await wait_for_band(client, "alerts:total")
    for b in range(48):
        alerts = [am_alert(f"h{b}-{i}", format_ts(t0 + b * MIN + i)) for i in range(1 + b % 3)]
        await client.post("/v1/webhooks/alertmanager", json=am_payload(*alerts))
    storm = [am_alert(f"storm{i}", format_ts(t0 + 48 * MIN + i)) for i in range(40)]
    body = (await client.post("/v1/webhooks/alertmanager", json=am_payload(*storm))).json()
    flagged = {s["series_id"]: s["anomalies"] for s in body["series"]}
    (point,) = flagged["alerts:total"]
    assert point["value"] == 40 and point["direction"] == "up" and point["is_anomaly"]
    anomalies = (await client.get("/v1/series/alerts:total/anomalies")).json()
    assert anomalies["count"] == 1
