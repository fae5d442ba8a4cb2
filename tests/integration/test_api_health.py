"""Operational routes over real HTTP: health, readiness, metrics, OpenAPI, and 503s."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

import tsad
from tsad.api.app import create_app
from tsad.settings import BufferSettings, ModelSettings, Settings

T0 = 1_704_067_200


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(Settings(models=ModelSettings(runner="thread")))) as c:
        yield c


def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_health_and_ready(client: AsyncTestClient[Any]) -> None:
    """/health and /ready answer 200 with the version on the embedded buffer."""
    assert (await client.get("/health")).json() == {"status": "ok", "version": tsad.__version__}
    ready = await client.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


async def test_metrics_count_requests_points_and_anomalies(client: AsyncTestClient[Any]) -> None:
    """/metrics exposes requests by route template and status, points, anomalies, series."""
    points = [[T0 + 3600 * i, 1.0] for i in range(5)]
    await client.post("/v1/series/a/points", json={"points": points})
    await client.post("/v1/series/b/points", json={"points": points[:2]})
    await client.get("/v1/series/nope")
    resp = await client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=")
    text = resp.text
    route = 'method="POST",route="/v1/series/{series_id}/points",status="200"'
    assert f"tsad_http_requests_total{{{route}}} 2.0" in text
    assert 'route="/v1/series/{series_id}",status="404"' in text
    assert f"tsad_http_request_duration_seconds_count{{{route}}} 2.0" in text
    assert "tsad_points_ingested_total 7.0" in text
    assert 'tsad_anomalies_flagged_total{direction="up"} 0.0' in text
    assert "tsad_buffer_series 2.0" in text
    assert "series/a" not in text  # paths and series ids never become labels


async def test_openapi_documents_every_v1_route(client: AsyncTestClient[Any]) -> None:
    """/schema/openapi.json names tsad, its version, every v1 route and the request bodies."""
    doc = (await client.get("/schema/openapi.json")).json()
    assert (doc["info"]["title"], doc["info"]["version"]) == ("tsad", tsad.__version__)
    paths = doc["paths"]
    expected = {
        ("/v1/series/{series_id}/points", "post"),
        ("/v1/series/{series_id}/points", "get"),
        ("/v1/points", "post"),
        ("/v1/series", "get"),
        ("/v1/series/{series_id}", "get"),
        ("/v1/series/{series_id}", "delete"),
        ("/v1/series/{series_id}/anomalies", "get"),
        ("/v1/forecast", "post"),
        ("/v1/detect", "post"),
        ("/health", "get"),
        ("/ready", "get"),
    }
    assert {(p, m) for p, ms in paths.items() for m in ms} >= expected
    body = paths["/v1/forecast"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["h"] and "points" in body["properties"]
    bulk = paths["/v1/points"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert bulk["properties"]["series"]["items"]["required"] == ["series_id", "points"]


async def test_buffer_down_answers_503_with_retry_after() -> None:
    """With Redis unreachable, /ready and appends answer 503 problems with Retry-After."""
    url = f"redis://127.0.0.1:{closed_port()}/0"
    settings = Settings(
        buffer=BufferSettings(redis_url=url, redis_timeout_s=0.5),
        models=ModelSettings(runner="thread"),
    )
    async with AsyncTestClient(create_app(settings)) as client:
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.headers["content-type"].startswith("application/problem+json")
        assert int(ready.headers["retry-after"]) > 0
        body = {"points": [[T0, 1.0]]}
        resp = await client.post("/v1/series/a/points", json=body)
        assert resp.status_code == 503, resp.text
        assert int(resp.headers["retry-after"]) > 0
        assert "Redis" in resp.json()["detail"]
        assert (await client.get("/health")).status_code == 200


async def test_extra_routes_are_mounted_and_bugs_answer_a_bare_500() -> None:
    """Extra routes are served; an unexpected exception is a 500 problem without internals."""
    from litestar import get

    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise RuntimeError("secret internals")

    app = create_app(Settings(models=ModelSettings(runner="thread")), extra_route_handlers=[boom])
    async with AsyncTestClient(app) as client:
        resp = await client.get("/boom")
        assert resp.status_code == 500
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert "secret" not in resp.text and "logged" in resp.json()["detail"]
