"""Per-key request budgets (``TSAD_RATE_LIMIT``, e.g. ``100/second``).

Litestar's ``RateLimitMiddleware`` keeps each client's recent request times in
a store: Redis when ``TSAD_REDIS_URL`` is set (shared by every replica), memory
otherwise. A client is its API key when it presents a valid one (by a short
hash: the key itself is never stored), else its address. ``/health``, ``/ready``
and ``/metrics`` are never limited. Over budget → 429 problem details with
``Retry-After`` (``tsad.api.errors``).

A store outage must not turn into 500s, nor block traffic that the buffer would
serve: the limiter fails open (logged, at most every 30 s) and the route answers
as it would without a limit (503 when the buffer is Redis and Redis is down).
Across replicas the count is approximate: each replica reads and writes the
client's history without a cross-process lock.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, cast

from litestar.connection import Request
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import (
    CacheObject,
    DurationUnit,
    RateLimitConfig,
    RateLimitMiddleware,
    get_remote_address,
)
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore

from tsad.api.auth import AUTH_OPT, key_identity
from tsad.settings import Settings

log = logging.getLogger("tsad.api")
STORE_NAME = "tsad_rate_limit"
_WARN_EVERY_S = 30.0


class FailOpenRateLimitMiddleware(RateLimitMiddleware):
    """Litestar's limiter, letting requests through while its store is unreachable."""

    _last_warning = 0.0

    def _store_failed(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - FailOpenRateLimitMiddleware._last_warning >= _WARN_EVERY_S:
            FailOpenRateLimitMiddleware._last_warning = now
            log.warning("rate-limit store unreachable, not limiting: %s", type(exc).__name__)

    async def retrieve_cached_history(self, key: str, store: Store) -> CacheObject:
        try:
            return await super().retrieve_cached_history(key, store)
        except Exception as exc:  # redis errors, timeouts: fail open
            self._store_failed(exc)
            return CacheObject(history=[], reset=int(time.time()) + 1)

    async def set_cached_history(self, key: str, cache_object: CacheObject, store: Store) -> None:
        try:
            await super().set_cached_history(key, cache_object, store)
        except Exception as exc:
            self._store_failed(exc)


def _identifier(keys: tuple[str, ...]) -> Any:
    def identify(request: Request[Any, Any, Any]) -> str:
        return key_identity(request.headers, keys) or f"addr:{get_remote_address(request)}"

    return identify


def _limited(request: Request[Any, Any, Any]) -> bool:
    handler = request.scope.get("route_handler")
    opt = getattr(handler, "opt", None) or {}
    return opt.get(AUTH_OPT) != "ops"


@dataclass
class RateLimiting:
    """The middleware and store to hand to ``Litestar(...)``, and what to close."""

    middleware: list[DefineMiddleware] = field(default_factory=list)
    stores: dict[str, Store] = field(default_factory=dict)
    _redis: Any = None

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


def rate_limiting(settings: Settings) -> RateLimiting:
    """Nothing when ``TSAD_RATE_LIMIT`` is unset; else the limiter and its store."""
    limit = settings.api.rate_limit
    if limit is None:
        return RateLimiting()
    count, unit = limit
    config = RateLimitConfig(
        rate_limit=(cast(DurationUnit, unit), count),
        identifier_for_request=_identifier(settings.api.api_keys),
        check_throttle_handler=_limited,
        middleware_class=FailOpenRateLimitMiddleware,
        store=STORE_NAME,
    )
    redis_client = None
    store: Store
    if settings.buffer.redis_url:
        from litestar.stores.redis import RedisStore

        from tsad.buffer.redis_client import connect

        # the buffer's own connection rules: a redis+cluster:// URL gets a cluster client
        redis_client = connect(
            settings.buffer.redis_url,
            settings.buffer.redis_timeout_s,
            cluster=settings.buffer.redis_cluster,
        )
        store = RedisStore(redis_client, namespace="tsad:ratelimit")  # type: ignore[arg-type]
    else:
        store = MemoryStore()
    return RateLimiting([config.middleware], {STORE_NAME: store}, redis_client)
