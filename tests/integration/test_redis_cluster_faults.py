"""Every Redis Cluster fault answers 503 with Retry-After, never 500: a cluster not
yet formed, a master stopped (its slots uncovered), every node down — on a real
3-master cluster started here — and the same app heals when the nodes are back."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from tests.redis_cluster import RedisClusterServers, cluster_available
from tsad.api.app import create_app
from tsad.settings import BufferSettings, ModelSettings, Settings

pytestmark = pytest.mark.skipif(not cluster_available(), reason="redis-server is not installed")

SERIES = [f"s{i}" for i in range(24)]  # spread over the three masters' slots


@pytest.fixture
async def unformed() -> AsyncIterator[RedisClusterServers]:
    """Three cluster-enabled nodes that have not been joined into a cluster yet."""
    servers = RedisClusterServers().start(form=False)
    yield servers
    servers.cleanup()


async def _post_all(client: AsyncTestClient, minute: int) -> Counter[int]:
    """One point to every series; the status codes seen (503s must say Retry-After)."""
    seen: Counter[int] = Counter()
    for sid in SERIES:
        r = await client.post(
            f"/v1/series/{sid}/points", json={"points": [[1_700_000_000 + 60 * minute, 1.0]]}
        )
        seen[r.status_code] += 1
        if r.status_code == 503:
            assert r.headers.get("retry-after") and r.json()["status"] == 503, r.text
    return seen


async def _until_all_ok(client: AsyncTestClient, minute: int, deadline_s: float = 20) -> None:
    end = time.monotonic() + deadline_s
    while True:
        seen = await _post_all(client, minute)
        assert set(seen) <= {200, 503}, seen
        if seen == Counter({200: len(SERIES)}):
            return
        assert time.monotonic() < end, f"never healed: {seen}"
        await asyncio.sleep(0.3)


async def test_cluster_faults_answer_503_and_heal(unformed: RedisClusterServers) -> None:
    """Not formed → 503; formed → 200; a master down → only 200/503 and some 503; back
    → 200; all nodes down → every write and /ready 503."""
    settings = Settings(
        buffer=BufferSettings(redis_url=unformed.url, redis_timeout_s=1.0),
        models=ModelSettings(runner="thread"),
    )
    async with AsyncTestClient(create_app(settings)) as client:
        assert await _post_all(client, 0) == Counter({503: len(SERIES)})
        assert (await client.get("/ready")).status_code == 503
        unformed.form()
        await _until_all_ok(client, 1)
        unformed.stop_node(1)
        minute, seen = 2, Counter[int]()
        while seen[503] == 0:  # until the cluster notices (node timeout 2 s)
            seen = await _post_all(client, minute)
            assert set(seen) <= {200, 503}, seen
            minute += 1
        unformed.start_node(1)
        await _until_all_ok(client, minute + 1)
        for i in range(3):
            unformed.stop_node(i)
        assert await _post_all(client, minute + 2) == Counter({503: len(SERIES)})
        assert (await client.get("/ready")).status_code == 503
