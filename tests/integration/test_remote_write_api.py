"""POST /api/v1/write over HTTP (Litestar test client): what Prometheus gets back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.redis_server import RedisServer, own_redis  # noqa: F401  (fixture)
from tests.remote_write_messages import HEADERS, STALE_NAN, snappy_body, write_request
from tsad.api.app import create_app
from tsad.settings import (
    ApiSettings,
    BufferSettings,
    ModelSettings,
    RemoteWriteSettings,
    Settings,
)

T0 = 1_704_067_200_000


def settings(**remote: Any) -> Settings:
    return Settings(
        models=ModelSettings(runner="thread"), remote_write=RemoteWriteSettings(**remote)
    )


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(settings())) as c:
        yield c


def body(n_series: int = 2, n: int = 3, name: str = "node_load1") -> bytes:
    return snappy_body(
        write_request(
            (
                {"__name__": name, "instance": f"h{i}:9100"},
                [(T0 + 15_000 * k, k + i) for k in range(n)],
            )
            for i in range(n_series)
        )
    )


async def test_write_stores_series_with_their_values(client: AsyncTestClient[Any]) -> None:
    """A write answers 200 and every time series is a tsad series with its values."""
    resp = await client.post("/api/v1/write", content=body(), headers=HEADERS)
    assert resp.status_code == 200, resp.text
    assert resp.json()["accepted"] == 6 and resp.json()["new_series"] == 2
    points = (await client.get("/v1/series/node_load1,instance=h1:9100/points")).json()
    assert [p["value"] for p in points["points"]] == [1.0, 2.0, 3.0]
    assert points["points"][0]["timestamp"] == "2024-01-01T00:00:00Z"


async def test_a_resent_write_stores_nothing_twice(client: AsyncTestClient[Any]) -> None:
    """Prometheus retries whole batches: a re-sent batch counts as duplicates, no new points."""
    await client.post("/api/v1/write", content=body(), headers=HEADERS)
    again = (await client.post("/api/v1/write", content=body(), headers=HEADERS)).json()
    assert again["accepted"] == 0 and again["duplicates"] == 6
    info = (await client.get("/v1/series/node_load1,instance=h0:9100")).json()
    assert info["count"] == 3


async def test_stale_markers_are_skipped_and_counted_in_metrics(
    client: AsyncTestClient[Any],
) -> None:
    """Staleness markers are not stored; the answer and /metrics count them by outcome."""
    req = write_request([({"__name__": "m"}, [(T0, 1.0), (T0 + 1000, STALE_NAN)])])
    resp = await client.post("/api/v1/write", content=snappy_body(req), headers=HEADERS)
    assert resp.json()["skipped"] == {"stale": 1}
    text = (await client.get("/metrics")).text
    assert 'tsad_remote_write_samples_total{outcome="stale"} 1.0' in text
    assert 'tsad_remote_write_samples_total{outcome="stored"} 1.0' in text


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"\x05nope", HEADERS, 400),
        (b"", HEADERS, 400),
        (body(), {**HEADERS, "content-type": "application/json"}, 415),
        (body(), {**HEADERS, "content-encoding": "gzip"}, 415),
        (
            body(),
            {
                **HEADERS,
                "content-type": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            },
            415,
        ),
    ],
)
async def test_requests_retrying_cannot_fix_get_4xx_problems(
    client: AsyncTestClient[Any], content: bytes, headers: dict[str, str], status: int
) -> None:
    """Malformed bodies and unsupported encodings get a 4xx problem (Prometheus drops them)."""
    resp = await client.post("/api/v1/write", content=content, headers=headers)
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["detail"]
    assert (await client.get("/v1/series")).json()["series"] == []


async def test_new_series_past_the_bound_are_skipped_known_ones_stored() -> None:
    """Past TSAD_REMOTE_WRITE_MAX_NEW_SERIES new series are skipped; existing ones still land."""
    async with AsyncTestClient(create_app(settings(max_new_series=2))) as c:
        first = (await c.post("/api/v1/write", content=body(3, 1), headers=HEADERS)).json()
        assert first["new_series"] == 2 and first["skipped"] == {"series_limit": 1}
        second = (await c.post("/api/v1/write", content=body(5, 2), headers=HEADERS)).json()
        # the two known series take their samples; two of the three new ones fit, the
        # third's two samples are skipped
        assert second["new_series"] == 2 and second["skipped"] == {"series_limit": 2}
        assert len((await c.get("/v1/series")).json()["series"]) == 4


async def test_matchers_select_what_is_kept() -> None:
    """With TSAD_REMOTE_WRITE_MATCH set, only matching series are stored."""
    async with AsyncTestClient(create_app(settings(match=('{instance="h1:9100"}',)))) as c:
        resp = (await c.post("/api/v1/write", content=body(3, 2), headers=HEADERS)).json()
        assert resp["series"] == 1 and resp["skipped"] == {"filtered": 4}
        (only,) = (await c.get("/v1/series")).json()["series"]
        assert only["series_id"] == "node_load1,instance=h1:9100"


async def test_too_many_samples_in_one_request_is_413() -> None:
    """More samples than TSAD_MAX_POINTS_PER_REQUEST: 413, nothing stored."""
    cfg = Settings(models=ModelSettings(runner="thread"), api=ApiSettings(max_points_per_request=5))
    async with AsyncTestClient(create_app(cfg)) as c:
        resp = await c.post("/api/v1/write", content=body(2, 3), headers=HEADERS)
        assert resp.status_code == 413
        assert (await c.get("/v1/series")).json()["series"] == []


async def test_redis_down_answers_503_with_retry_after(own_redis: RedisServer) -> None:  # noqa: F811
    """With the Redis buffer down the write answers 503 + Retry-After: Prometheus retries."""
    cfg = Settings(
        models=ModelSettings(runner="thread"),
        buffer=BufferSettings(redis_url=own_redis.url, redis_timeout_s=0.5),
    )
    async with AsyncTestClient(create_app(cfg)) as c:
        assert (await c.post("/api/v1/write", content=body(), headers=HEADERS)).status_code == 200
        own_redis.stop()
        resp = await c.post("/api/v1/write", content=body(), headers=HEADERS)
        assert resp.status_code == 503 and int(resp.headers["retry-after"]) >= 1


async def test_with_api_keys_a_write_needs_the_bearer_key_prometheus_sends() -> None:
    """With TSAD_API_KEYS set, a write without the key is 401; with `authorization:
    credentials: KEY` (a Bearer header) it is stored."""
    cfg = Settings(models=ModelSettings(runner="thread"), api=ApiSettings(api_keys=("k1",)))
    async with AsyncTestClient(create_app(cfg)) as c:
        assert (await c.post("/api/v1/write", content=body(), headers=HEADERS)).status_code == 401
        auth = {**HEADERS, "authorization": "Bearer k1"}
        assert (await c.post("/api/v1/write", content=body(), headers=auth)).status_code == 200


async def test_a_full_buffer_skips_new_series_and_still_stores_known_ones() -> None:
    """At TSAD_MAX_SERIES, new series are skipped (series_limit) and the request is still 200."""
    cfg = Settings(models=ModelSettings(runner="thread"), buffer=BufferSettings(max_series=2))
    async with AsyncTestClient(create_app(cfg)) as c:
        await c.post("/api/v1/write", content=body(2, 1), headers=HEADERS)
        resp = await c.post("/api/v1/write", content=body(4, 2), headers=HEADERS)
        assert resp.status_code == 200
        assert resp.json()["skipped"] == {"series_limit": 4} and resp.json()["accepted"] == 2
