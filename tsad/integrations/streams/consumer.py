"""The ``tsad consume`` loop: fetch a batch, decode, ingest per series, then ack.

Every message of a batch is decoded first; a message that cannot be decoded (bad
JSON, a bad series id, a NaN, a broken line) is dead-lettered with a log line and
never stops the loop. The points of the good ones are joined per series and go
through ``TsadService.ingest`` — the path ``POST /v1/points`` takes (dedupe by
timestamp, online scoring, anomaly history, refits, alerts). Only then are the
messages acked. While the buffer (or the stream) is down the batch in hand is
kept, unacked, and retried with backoff; if the process dies instead, the stream
redelivers it. Appends dedupe by timestamp, so redelivery stores nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tsad.errors import BackendError, ClientError
from tsad.integrations.streams.formats import MessagePoints, decode_message
from tsad.integrations.streams.source import Delivery, StreamSource
from tsad.service import TsadService

log = logging.getLogger("tsad.consume")


@dataclass
class ConsumeStats:
    """What a consumer has done so far."""

    messages: int = 0  # acked after their points were stored
    points: int = 0  # points in those messages
    accepted: int = 0  # new timestamps stored
    duplicates: int = 0  # timestamps already stored (redeliveries, repeats)
    anomalies: int = 0
    dead_lettered: int = 0
    retries: int = 0  # batches retried after the buffer or the stream failed


@dataclass(frozen=True)
class ConsumeOptions:
    fmt: str = "auto"
    precision: str = "ns"
    batch: int = 500
    wait_s: float = 1.0
    max_backoff_s: float = 5.0


async def consume(
    service: TsadService,
    source: StreamSource,
    stop: asyncio.Event,
    options: ConsumeOptions | None = None,
    stats: ConsumeStats | None = None,
) -> ConsumeStats:
    """Consume until ``stop`` is set (the batch in hand is finished first)."""
    opts = options or ConsumeOptions()
    stats = stats if stats is not None else ConsumeStats()
    backoff = 0.1
    batch: list[Delivery] = []
    opened = False
    while not stop.is_set():
        try:
            if not opened:
                await source.open()
                opened = True
            if not batch:
                batch = await source.fetch(opts.batch, opts.wait_s)
            if batch:
                await handle_batch(service, source, batch, opts, stats)
                batch = []
            backoff = 0.1
        except BackendError as exc:  # buffer or stream down: keep the batch, unacked
            stats.retries += 1
            log.warning("consume paused, retrying in %.1f s: %s", backoff, exc.detail)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff):
                    await stop.wait()
            backoff = min(backoff * 2, opts.max_backoff_s)
    return stats


async def handle_batch(
    service: TsadService,
    source: StreamSource,
    batch: Sequence[Delivery],
    opts: ConsumeOptions,
    stats: ConsumeStats,
) -> None:
    """Store the points of ``batch``, then ack it; dead-letter what cannot be stored."""
    by_series: dict[str, list[tuple[int, MessagePoints]]] = {}
    bad: dict[int, str] = {}
    for i, delivery in enumerate(batch):
        try:
            for item in decode_message(delivery.data, opts.fmt, opts.precision):
                by_series.setdefault(item.series_id, []).append((i, item))
        except ClientError as exc:
            bad[i] = exc.detail
    limit = service.settings.api.max_points_per_request
    for sid, parts in by_series.items():
        if all(i in bad for i, _ in parts):
            continue
        parts = [(i, p) for i, p in parts if i not in bad]
        ts = np.fromiter((t for _, p in parts for t in p.ts), np.int64)
        y = np.fromiter((v for _, p in parts for v in p.y), np.float64)
        try:
            for start in range(0, ts.shape[0], limit):
                result = await service.ingest(
                    sid, ts[start : start + limit], y[start : start + limit]
                )
                stats.accepted += result.accepted
                stats.duplicates += result.duplicates
                stats.anomalies += int(np.count_nonzero(result.scored.is_anomaly))
        except ClientError as exc:  # e.g. the buffer's series cap: these messages cannot land
            for i, _ in parts:
                bad.setdefault(i, f"series {sid!r}: {exc.detail}")
    for i, reason in bad.items():
        log.warning("dead-lettered message %s: %s", batch[i].id, reason)
        await source.dead_letter(batch[i], reason)
        stats.dead_lettered += 1
    good = [d for i, d in enumerate(batch) if i not in bad]
    await source.ack(good)
    stats.messages += len(good)
    stats.points += sum(len(p.ts) for parts in by_series.values() for i, p in parts if i not in bad)
