"""Per-key rate limiting over HTTP (TSAD_RATE_LIMIT): 429 problem details with
Retry-After, one budget per valid key, ops routes exempt, a Redis-backed store
shared between app instances, and no 500s while that store is down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests import redis_server as fixtures
from tests.redis_server import RedisServer, redis_available
from tsad.api.app import create_app
from tsad.settings import ApiSettings, BufferSettings, ModelSettings, Settings

redis_session = fixtures.redis_session
redis_url = fixtures.redis_url
own_redis = fixtures.own_redis

KEY_A, KEY_B = "key-aaaa-1111", "key-bbbb-2222"
T0 = 1_704_067_200


def _settings(limit: tuple[int, str] = (3, "minute"), **buffer: Any) -> Settings:
    return Settings(
        models=ModelSettings(runner="thread"),
        api=ApiSettings(api_keys=(KEY_A, KEY_B), rate_limit=limit),
        buffer=BufferSettings(redis_timeout_s=0.5, **buffer),
    )


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def body(i: int) -> dict[str, Any]:
    return {"points": [[T0 + 60 * i, float(i)]]}


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(_settings())) as c:
        yield c


async def test_over_budget_is_429_problem_with_retry_after(client: AsyncTestClient[Any]) -> None:
    """The fourth request in a minute with a 3/minute budget is a 429 problem with Retry-After."""
    for i in range(3):
        resp = await client.post("/v1/series/cpu/points", json=body(i), headers=bearer(KEY_A))
        assert resp.status_code == 200
        assert resp.headers["ratelimit-remaining"] == str(2 - i)
    resp = await client.post("/v1/series/cpu/points", json=body(3), headers=bearer(KEY_A))
    assert resp.status_code == 429
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(resp.headers["retry-after"]) <= 60
    assert resp.json()["status"] == 429 and "TSAD_RATE_LIMIT" in resp.json()["detail"]
    # the refused point was not stored
    stored = await client.get("/v1/series/cpu/points")
    assert stored.json()["count"] == 3


async def test_each_valid_key_has_its_own_budget(client: AsyncTestClient[Any]) -> None:
    """Key B still has its budget when key A has spent its own; made-up keys share the address's."""
    for _ in range(3):
        await client.get("/v1/series", headers=bearer(KEY_A))
    assert (await client.get("/v1/series", headers=bearer(KEY_A))).status_code == 429
    assert (await client.get("/v1/series", headers=bearer(KEY_B))).status_code == 200
    # unauthenticated reads and rotating made-up tokens draw on one per-address budget
    codes = [
        (await client.get("/v1/series", headers=bearer(f"made-up-{i}"))).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]


async def test_health_ready_and_metrics_are_never_limited(client: AsyncTestClient[Any]) -> None:
    """Probes and scrapers are exempt: ten calls each all answer 200."""
    for path in ("/health", "/ready", "/metrics"):
        codes = {(await client.get(path)).status_code for _ in range(10)}
        assert codes == {200}, path


async def test_no_limit_configured_means_no_limiter() -> None:
    """Without TSAD_RATE_LIMIT there are no RateLimit headers and no 429s."""
    app = create_app(Settings(models=ModelSettings(runner="thread")))
    async with AsyncTestClient(app) as c:
        answers = [await c.get("/v1/series") for _ in range(20)]
    assert {a.status_code for a in answers} == {200}
    assert "ratelimit-limit" not in answers[0].headers


pytestmark_redis = pytest.mark.skipif(not redis_available(), reason="redis-server is not installed")


@pytestmark_redis
async def test_redis_store_is_shared_between_replicas(redis_url: str) -> None:
    """With TSAD_REDIS_URL, two app instances draw on one budget per key."""
    settings = _settings((4, "minute"), redis_url=redis_url)
    async with (
        AsyncTestClient(create_app(settings)) as one,
        AsyncTestClient(create_app(settings)) as two,
    ):
        codes = []
        for i in range(6):
            c = one if i % 2 == 0 else two
            codes.append((await c.get("/v1/series", headers=bearer(KEY_A))).status_code)
    assert codes == [200, 200, 200, 200, 429, 429]


@pytestmark_redis
async def test_store_outage_fails_open_without_500s(own_redis: RedisServer) -> None:
    """Redis down: the limiter lets requests through, writes answer 503 with Retry-After (not
    500), reads of ops routes still work; after a restart limiting resumes with no app restart."""
    settings = _settings((50, "minute"), redis_url=own_redis.url)
    async with AsyncTestClient(create_app(settings)) as c:
        assert (
            await c.post("/v1/series/cpu/points", json=body(0), headers=bearer(KEY_A))
        ).status_code == 200
        own_redis.stop(kill=True)
        resp = await c.post("/v1/series/cpu/points", json=body(1), headers=bearer(KEY_A))
        assert resp.status_code == 503 and resp.headers.get("retry-after")
        assert (await c.get("/health")).status_code == 200
        own_redis.start()
        resp = await c.post("/v1/series/cpu/points", json=body(2), headers=bearer(KEY_A))
        assert resp.status_code == 200
        assert resp.headers["ratelimit-limit"] == "50"
