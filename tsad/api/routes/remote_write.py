"""``POST /api/v1/write``: Prometheus remote write 1.0 (snappy-compressed protobuf).

Answers as Prometheus's retry loop expects: **200** when stored (or skipped on
purpose: stale markers, NaN, unmatched or over-the-bound series are counted, never
retried); **4xx** for a request retrying cannot fix (not snappy, not a
WriteRequest, remote write 2.0's content type → 415, too large → 413); **503** with
``Retry-After`` while the buffer is down, so Prometheus re-sends the batch.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
from litestar import Request, Router, post
from litestar.openapi.spec import Operation

from tsad.api.metrics import Metrics
from tsad.errors import UnsupportedMediaType
from tsad.integrations.remote_write.decode import SeriesIds, decode_write
from tsad.integrations.remote_write.metrics import RemoteWriteMetrics
from tsad.integrations.remote_write.select import parse_selectors
from tsad.integrations.remote_write.store import KnownSeries, store_write
from tsad.limits import check_count
from tsad.service import TsadService

STATE_KEY = "remote_write"
PROTOBUF = "application/x-protobuf"


class RemoteWriteResponse(msgspec.Struct, kw_only=True):
    """What one write did (Prometheus ignores the body; people reading it do not)."""

    samples: int
    accepted: int
    duplicates: int
    series: int
    new_series: int
    anomalies: int
    skipped: dict[str, int]
    histograms_skipped: int


class _ProtobufBody(Operation):
    """OpenAPI: the body is a snappy-compressed ``prometheus.WriteRequest``."""

    def to_schema(self) -> dict[str, Any]:
        out = super().to_schema()
        out["requestBody"] = {
            "required": True,
            "description": "snappy (block format) prometheus.WriteRequest, remote write 1.0; "
            "Content-Encoding: snappy",
            "content": {PROTOBUF: {"schema": {"type": "string", "format": "binary"}}},
        }
        return out


class _Receiver:
    """Per-app state: the parsed selectors, the known-series cache, the counters."""

    def __init__(self, service: TsadService, metrics: Metrics) -> None:
        cfg = service.settings.remote_write
        self.ids = SeriesIds(parse_selectors(cfg.match))
        self.max_new_series = cfg.max_new_series
        self.known = KnownSeries(service.settings.buffer.max_series)
        self.metrics = RemoteWriteMetrics(metrics.registry)


def _receiver(request: Request[Any, Any, Any], service: TsadService, metrics: Metrics) -> _Receiver:
    state = request.app.state
    receiver = state.get(STATE_KEY)
    if not isinstance(receiver, _Receiver):
        receiver = _Receiver(service, metrics)
        state[STATE_KEY] = receiver
    return receiver


def _check_headers(request: Request[Any, Any, Any]) -> None:
    media = (request.headers.get("content-type") or PROTOBUF).lower()
    if media.split(";", 1)[0].strip() != PROTOBUF or "proto=io.prometheus.write.v2" in media:
        raise UnsupportedMediaType(
            f"remote write 1.0 needs Content-Type {PROTOBUF!r} (a prometheus.WriteRequest); "
            f"got {media!r}"
        )
    encoding = (request.headers.get("content-encoding") or "snappy").strip().lower()
    if encoding != "snappy":
        raise UnsupportedMediaType(
            f"remote write needs Content-Encoding 'snappy'; got {encoding!r}"
        )


@post("/api/v1/write", status_code=200, tags=["prometheus"], operation_class=_ProtobufBody)
async def remote_write(
    request: Request[Any, Any, Any], service: TsadService, metrics: Metrics
) -> RemoteWriteResponse:
    """Prometheus remote write 1.0: each time series becomes (or extends) a tsad series."""
    receiver = _receiver(request, service, metrics)
    _check_headers(request)
    limits = service.settings.api
    decoded = decode_write(await request.body(), receiver.ids, limits.max_body_bytes)
    check_count(
        sum(len(s.ts) for s in decoded.series),
        limits.max_points_per_request,
        "samples",
        setting="TSAD_MAX_POINTS_PER_REQUEST",
        hint="lower max_samples_per_send",
    )
    results, created = await store_write(service, decoded, receiver.known, receiver.max_new_series)
    accepted = sum(r.accepted for r in results)
    duplicates = sum(r.duplicates for r in results)
    flagged = up = 0
    for result in results:
        flags = result.scored.is_anomaly
        if flags.any():  # most writes flag nothing: skip the per-series work then
            flagged += int(np.count_nonzero(flags))
            up += int(np.count_nonzero(flags & (result.scored.direction > 0)))
    metrics.count_ingest(accepted, up, flagged - up)
    receiver.metrics.observe(decoded, accepted, duplicates, created)
    return RemoteWriteResponse(
        samples=decoded.samples,
        accepted=accepted,
        duplicates=duplicates,
        series=len(results),
        new_series=created,
        anomalies=flagged,
        skipped={k: v for k, v in decoded.skipped.items() if v},
        histograms_skipped=decoded.histograms,
    )


remote_write_routes = Router(path="/", route_handlers=[remote_write])
