"""Connecting to Redis: one primary (``redis.asyncio.Redis``) or a Redis Cluster
(``redis.asyncio.cluster.RedisCluster``), chosen by the URL or a setting.

A cluster is named by ``TSAD_REDIS_URL=redis+cluster://host:port`` (``rediss+cluster``
with TLS), or by a plain ``redis://`` URL with ``TSAD_REDIS_CLUSTER=1``. Any one node
is enough: the client discovers the others (CLUSTER SLOTS) and follows MOVED/ASK
redirections. Both clients fail fast when Redis is down and heal by themselves.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeAlias

import redis.asyncio as aredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

RedisClient: TypeAlias = aredis.Redis | RedisCluster
"""What buffers and queues hold: commands they use exist on both clients."""

CLUSTER_MAX_CONNECTIONS = 10_000  # per node and client
_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def cluster_url(url: str, cluster: bool = False) -> str | None:
    """The plain ``redis://`` URL of a cluster node, or None when ``url`` names one primary."""
    scheme, sep, rest = url.partition("://")
    plain = _CLUSTER_SCHEMES.get(scheme.lower())
    if plain is not None and sep:
        return f"{plain}://{rest}"
    return url if cluster else None


def is_cluster(client: RedisClient) -> bool:
    return isinstance(client, RedisCluster)


def connect(url: str, timeout_s: float = 2.0, *, cluster: bool = False) -> RedisClient:
    """A client for ``url``: a RedisCluster for a cluster URL (or ``cluster=True``).

    One quick retry covers a pooled connection that died with a Redis restart;
    more would only delay the 503 a client should see during an outage.
    """
    options: dict[str, Any] = {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
        "retry": Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1),
    }
    node = cluster_url(url, cluster)
    if node is not None:
        # redis-py's cluster client raises MaxConnectionsError (it does not wait) past
        # max_connections per node, default 100; the single client's pool is unbounded
        return RedisCluster.from_url(node, max_connections=CLUSTER_MAX_CONNECTIONS, **options)
    return aredis.Redis.from_url(url, health_check_interval=30, **options)


class ColdStartGate:
    """Lets a cluster client's first command run alone; open for good afterwards.

    redis-py 8.1's RedisCluster loses connections when many coroutines hit a cold
    client at once (measured: 64 concurrent first appends failed with "Connection
    closed by server"; after one PING, 200 concurrent appends pass, every time).
    A single-Redis client never waits here.
    """

    def __init__(self, client: RedisClient) -> None:
        self._client = client
        self._open = not is_cluster(client)
        self._lock: asyncio.Lock | None = None

    async def wait(self) -> None:
        if self._open:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._open:
                await self._client.ping()
                self._open = True
