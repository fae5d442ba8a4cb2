"""The online tier on a real 3-master Redis Cluster: replicas share series spread over
every master, refits go through the stream to a ``tsad worker`` loop, and the cluster
is chosen by the URL scheme or TSAD_REDIS_CLUSTER."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest
from redis.asyncio.cluster import RedisCluster

from tests import redis_cluster as cluster_fixtures
from tests.redis_cluster import RedisClusterServers
from tsad.buffer.redis_client import cluster_url, connect
from tsad.queue.redis import RedisRefitQueue
from tsad.service import TsadService
from tsad.settings import BufferSettings, ModelSettings, Settings, WorkerSettings
from tsad.worker import run_worker

redis_cluster_session = cluster_fixtures.redis_cluster_session
redis_cluster_url = cluster_fixtures.redis_cluster_url

T0 = 1_700_000_000_000
HOUR = 3_600_000


def _settings(url: str) -> Settings:
    return Settings(
        buffer=BufferSettings(redis_url=url),
        models=ModelSettings(runner="thread"),
        worker=WorkerSettings(block_ms=200),
    )


@pytest.fixture
async def replicas(redis_cluster_url: str) -> AsyncIterator[tuple[TsadService, TsadService]]:
    """Two API replicas (services) on the cluster, each with its own clients and queue."""
    made = []
    for _ in range(2):
        settings = _settings(redis_cluster_url)
        made.append(TsadService(settings, scheduler=RedisRefitQueue.from_settings(settings)))
    yield made[0], made[1]
    for service in made:
        await service.close()


def _hourly(n: int, seed: int, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = np.arange(start, start + n)
    ts = T0 + k.astype(np.int64) * HOUR
    return ts, 10 + 3 * np.sin(2 * np.pi * k / 24) + rng.normal(0, 0.2, n)


async def test_two_replicas_share_series_spread_over_every_master(
    replicas: tuple[TsadService, TsadService], redis_cluster_session: RedisClusterServers
) -> None:
    """Series written by either replica land on all three masters and both see all of them."""
    a, b = replicas
    ids = [f"host-{i}.cpu" for i in range(30)]
    for i, sid in enumerate(ids):
        writer = a if i % 2 else b
        ts, y = _hourly(6, seed=i)
        await writer.buffer.append(sid, ts, y)
    assert all(n > 0 for n in redis_cluster_session.keys_per_node())
    listed_a = [info.series_id for info in await a.list_series()]
    listed_b = [info.series_id for info in await b.list_series()]
    assert listed_a == listed_b == sorted(ids)
    # b extends a series a wrote; a reads every point, in order
    ts, y = _hourly(4, seed=99, start=6)
    await b.buffer.append(ids[1], ts, y)
    window = await a.points(ids[1], None, None)
    assert len(window) == 10 and np.all(np.diff(window.ts) == HOUR)
    await a.delete(ids[1])
    assert ids[1] not in [info.series_id for info in await b.list_series()]


async def test_a_refit_queued_by_one_replica_is_fitted_by_a_worker_and_seen_by_the_other(
    replicas: tuple[TsadService, TsadService], redis_cluster_url: str
) -> None:
    """Through the cluster's refit stream: queued once, fitted by the worker, band shared."""
    a, b = replicas
    ts, y = _hourly(72, seed=1)
    first = await a.ingest("web.latency", ts, y)
    assert first.refit_scheduled
    again = await b.ingest("web.latency", *_hourly(1, seed=2, start=72))
    assert not again.refit_scheduled  # already queued by replica a
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(_settings(redis_cluster_url), stop, "w1"))
    for _ in range(200):
        state = await b.buffer.get_state("web.latency")
        if state is not None and state.band is not None:
            break
        await asyncio.sleep(0.05)
    stop.set()
    assert await worker >= 1
    view = await b.series("web.latency")
    assert view.band is not None and view.band.start > ts[-1]
    # the band stored by the worker now scores replica a's next point
    later = await a.ingest("web.latency", np.array([view.band.start]), np.array([1_000.0]))
    assert later.scored.is_anomaly.tolist() == [True]


def test_the_cluster_is_named_by_the_url_scheme_or_the_setting() -> None:
    """redis+cluster:// or TSAD_REDIS_CLUSTER=1 gives a RedisCluster client; redis:// does not."""
    assert cluster_url("redis+cluster://10.0.0.5:7000") == "redis://10.0.0.5:7000"
    assert cluster_url("rediss+cluster://h:7000/0") == "rediss://h:7000/0"
    assert cluster_url("redis://h:6379/0") is None
    assert cluster_url("redis://h:6379/0", cluster=True) == "redis://h:6379/0"
    assert isinstance(connect("redis+cluster://127.0.0.1:7000"), RedisCluster)
    assert not isinstance(connect("redis://127.0.0.1:6379/0"), RedisCluster)
    env = {"TSAD_REDIS_URL": "redis://10.0.0.5:7000", "TSAD_REDIS_CLUSTER": "1"}
    assert Settings.from_env(env).buffer.redis_cluster is True
    assert Settings.from_env({"TSAD_REDIS_URL": "redis://h"}).buffer.redis_cluster is False


async def test_rate_limit_store_works_on_a_cluster(redis_cluster_url: str) -> None:
    """TSAD_RATE_LIMIT with a redis+cluster:// URL starts and shares one budget per key."""
    from litestar.testing import AsyncTestClient

    from tsad.api.app import create_app
    from tsad.settings import ApiSettings, BufferSettings, ModelSettings, Settings

    settings = Settings(
        models=ModelSettings(runner="thread"),
        api=ApiSettings(api_keys=("cluster-key",), rate_limit=(3, "minute")),
        buffer=BufferSettings(redis_url=redis_cluster_url, redis_cluster=True),
    )
    headers = {"Authorization": "Bearer cluster-key"}
    async with (
        AsyncTestClient(create_app(settings)) as one,
        AsyncTestClient(create_app(settings)) as two,
    ):
        codes = [
            (await (one if i % 2 else two).get("/v1/series", headers=headers)).status_code
            for i in range(5)
        ]
    assert codes == [200, 200, 200, 429, 429]
