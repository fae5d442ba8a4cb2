"""Prometheus metrics of one app: requests, points, anomalies, series.

Each app owns a ``CollectorRegistry`` (several apps in one process, as in tests,
must not collide in the global one). Labels stay low-cardinality: the route
*template* (``/v1/series/{series_id}/points``), never the path, and no series ids.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# request latencies span sub-millisecond appends to multi-second model fits
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """The collectors and the ASGI middleware that feeds the request ones."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # labelled children by (method, route template, status): a bounded set
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.requests = Counter(
            "tsad_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tsad_http_request_duration_seconds",
            "HTTP request latency, by method, route template and status",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.points = Counter(
            "tsad_points_ingested",
            "Points accepted into the buffer (new timestamps)",
            registry=self.registry,
        )
        self.anomalies = Counter(
            "tsad_anomalies_flagged",
            "Points flagged as anomalous on ingest, by direction",
            ["direction"],
            registry=self.registry,
        )
        self.series = Gauge(
            "tsad_buffer_series",
            "Series held in the buffer (updated at each scrape)",
            registry=self.registry,
        )
        for direction in ("up", "down"):
            self.anomalies.labels(direction)

    def count_ingest(self, accepted: int, up: int, down: int) -> None:
        self.points.inc(accepted)
        if up:
            self.anomalies.labels("up").inc(up)
        if down:
            self.anomalies.labels("down").inc(down)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Wrap ``app``: time every HTTP request and count it by its final status."""

        async def timed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            status = 500
            started = time.perf_counter()

            async def send_and_watch(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                await send(message)

            try:
                await app(scope, receive, send_and_watch)
            finally:
                key = (scope.get("method", "GET"), _route(scope), status)
                children = self._children.get(key)
                if children is None:  # prometheus' labels() lookup is slow per request
                    labels = (key[0], key[1], str(status))
                    children = (self.latency.labels(*labels), self.requests.labels(*labels))
                    self._children[key] = children
                children[0].observe(time.perf_counter() - started)
                children[1].inc()

        return timed


def _route(scope: Any) -> str:
    template = scope.get("path_template")
    return template if isinstance(template, str) and template else "unmatched"
