"""Bearer-key auth over HTTP: which routes need a key under which settings, what a
refusal looks like, and that keys never reach the logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tsad.api.app import create_app
from tsad.api.auth import key_identity, key_matches
from tsad.settings import ApiSettings, IntegrationSettings, ModelSettings, Settings

KEY, OTHER = "k-3f9a1c-first", "k-77b0de-second"
T0 = 1_704_067_200
POINTS = {"points": [[T0 + 60 * i, float(i % 7)] for i in range(20)]}


def _settings(**api: Any) -> Settings:
    return Settings(
        models=ModelSettings(runner="thread"),
        api=ApiSettings(api_keys=(KEY, OTHER), **api),
        integrations=IntegrationSettings(webhook_secret="hook-secret"),
    )


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(_settings())) as c:
        yield c


async def test_writes_need_a_key_and_answer_401_problem_details(
    client: AsyncTestClient[Any],
) -> None:
    """With TSAD_API_KEYS set, an append without a key is a 401 problem with WWW-Authenticate."""
    resp = await client.post("/v1/series/cpu/points", json=POINTS)
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.headers["www-authenticate"].startswith("Bearer")
    body = resp.json()
    assert body["status"] == 401 and "Authorization: Bearer" in body["detail"]
    # nothing was stored
    assert (await client.get("/v1/series")).json() == {"series": []}


async def test_every_configured_key_is_accepted_and_a_wrong_one_is_not(
    client: AsyncTestClient[Any],
) -> None:
    """Each listed key works; a wrong key, a prefix of a key, or another scheme gets 401."""
    for key in (KEY, OTHER):
        resp = await client.post("/v1/series/cpu/points", json=POINTS, headers=bearer(key))
        assert resp.status_code == 200, resp.text
    for headers in (bearer("nope"), bearer(KEY[:-1]), {"Authorization": f"Basic {KEY}"}):
        resp = await client.post("/v1/series/cpu/points", json=POINTS, headers=headers)
        assert resp.status_code == 401


async def test_delete_detect_and_forecast_are_writes(client: AsyncTestClient[Any]) -> None:
    """DELETE and the model routes (POST) need a key like appends do."""
    assert (await client.delete("/v1/series/cpu")).status_code == 401
    assert (await client.post("/v1/detect", json=POINTS)).status_code == 401
    assert (await client.post("/v1/forecast", json={**POINTS, "h": 3})).status_code == 401
    resp = await client.post("/v1/forecast", json={**POINTS, "h": 3}, headers=bearer(KEY))
    assert resp.status_code == 200 and len(resp.json()["forecast"]) == 3


async def test_reads_and_ops_are_open_by_default(client: AsyncTestClient[Any]) -> None:
    """Without TSAD_AUTH_READS/OPS, reads, Grafana queries, /health, /ready, /metrics are open."""
    await client.post("/v1/series/cpu/points", json=POINTS, headers=bearer(KEY))
    for path in ("/v1/series", "/v1/series/cpu", "/v1/series/cpu/points", "/health", "/ready"):
        assert (await client.get(path)).status_code == 200, path
    assert (await client.get("/metrics")).status_code == 200
    assert (await client.get("/schema/openapi.json")).status_code == 200
    resp = await client.post("/grafana/search", json={"target": ""})
    assert resp.status_code == 200 and "cpu" in resp.json()


async def test_auth_reads_and_ops_close_the_rest() -> None:
    """TSAD_AUTH_READS=1 and TSAD_AUTH_OPS=1 put reads and the ops routes behind a key too."""
    app = create_app(_settings(auth_reads=True, auth_ops=True))
    async with AsyncTestClient(app) as c:
        for path in ("/v1/series", "/health", "/ready", "/metrics"):
            assert (await c.get(path)).status_code == 401, path
            assert (await c.get(path, headers=bearer(OTHER))).status_code == 200, path
        assert (await c.post("/grafana/search", json={})).status_code == 401


async def test_without_keys_everything_is_open() -> None:
    """No TSAD_API_KEYS: writes need nothing (the embedded default)."""
    app = create_app(Settings(models=ModelSettings(runner="thread")))
    async with AsyncTestClient(app) as c:
        assert (await c.post("/v1/series/cpu/points", json=POINTS)).status_code == 200
        assert (await c.delete("/v1/series/cpu")).status_code == 204


async def test_webhooks_take_the_shared_secret_instead(client: AsyncTestClient[Any]) -> None:
    """Webhook routes accept the shared secret (their own guard), not only an API key."""
    payload = {
        "receiver": "tsad",
        "status": "firing",
        "alerts": [],
        "version": "4",
        "groupKey": "{}",
        "truncatedAlerts": 0,
    }
    url = "/v1/webhooks/alertmanager"
    assert (await client.post(url, json=payload)).status_code == 401
    assert (await client.post(url, json=payload, headers=bearer("hook-secret"))).status_code == 200
    secret = {"X-Tsad-Webhook-Secret": "hook-secret"}
    assert (await client.post(url, json=payload, headers=secret)).status_code == 200


async def test_timegpt_routes_use_the_same_keys(client: AsyncTestClient[Any]) -> None:
    """TimeGPT-compatible routes refuse a missing key (JSON with detail), accept a listed one."""
    resp = await client.get("/validate_api_key")
    assert resp.status_code == 401 and "detail" in resp.json()
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert (await client.get("/validate_api_key", headers=bearer(OTHER))).status_code == 200


async def test_keys_never_reach_the_logs(
    client: AsyncTestClient[Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Refused and accepted requests log nothing that contains a key or a presented token."""
    caplog.set_level(logging.DEBUG)
    await client.post("/v1/series/cpu/points", json=POINTS, headers=bearer("presented-token-x"))
    await client.post("/v1/series/cpu/points", json=POINTS, headers=bearer(KEY))
    await client.get("/validate_api_key", headers=bearer("presented-token-x"))
    text = caplog.text + repr(_settings())
    assert KEY not in text and OTHER not in text and "presented-token-x" not in text


def test_key_matching_is_exact_and_identity_only_for_valid_keys() -> None:
    """key_matches needs an exact key; key_identity names valid keys by hash, others not at all."""
    keys = (KEY, OTHER)
    assert key_matches(KEY, keys) and key_matches(OTHER, keys)
    assert not key_matches(None, keys) and not key_matches("", keys)
    assert not key_matches(KEY + "x", keys) and not key_matches(KEY, ())
    ident = key_identity({"authorization": f"Bearer {KEY}"}, keys)
    assert ident is not None and KEY not in ident
    assert ident != key_identity({"authorization": f"Bearer {OTHER}"}, keys)
    assert key_identity({"authorization": "Bearer made-up"}, keys) is None
