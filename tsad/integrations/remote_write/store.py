"""Decoded remote-write series into tsad: one ``TsadService.ingest`` per series.

The same call ``POST /v1/points`` makes (dedupe by timestamp, online scoring, refits,
alerts). Prometheus retries a failed request whole; since appends are idempotent
(last write wins per timestamp), a retry after a partial write stores nothing twice.
A backend error (Redis down) propagates, so the request is answered 503 and retried.

New series per request are bounded (``TSAD_REMOTE_WRITE_MAX_NEW_SERIES``): a label
with a request id in it should not fill the buffer. Series past the bound — or past
the buffer's ``TSAD_MAX_SERIES`` — are skipped and counted (``series_limit``), not
failed: retrying could not make them fit, and failing would drop every other series
of the request too.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from tsad.errors import TooLarge
from tsad.integrations.remote_write.decode import DecodedWrite
from tsad.service import IngestResult, TsadService

log = logging.getLogger("tsad.remote_write")


class KnownSeries:
    """Series ids this process has stored (bounded, least recently seen dropped), so
    the buffer is asked whether a series exists only for ids not seen before."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, series_id: object) -> bool:
        return series_id in self._ids

    def add(self, series_id: str) -> None:
        self._ids[series_id] = None
        self._ids.move_to_end(series_id)
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)


async def store_write(
    service: TsadService, decoded: DecodedWrite, known: KnownSeries, max_new_series: int
) -> tuple[list[IngestResult], int]:
    """Ingest every decoded series; returns the results and how many series were new."""
    results: list[IngestResult] = []
    budget, created, refused = max_new_series, 0, 0
    for item in decoded.series:
        sid = item.series_id
        new = sid not in known and await service.buffer.info(sid) is None
        if new and budget <= 0:
            decoded.skip("series_limit", len(item.ts))
            refused += 1
            continue
        try:
            results.append(await service.ingest(sid, item.ts, item.y))
        except TooLarge:
            if not new:  # not the series cap: a request-size limit, the client's to fix
                raise
            decoded.skip("series_limit", len(item.ts))
            refused += 1
            continue
        known.add(sid)
        if new:
            budget -= 1
            created += 1
    if refused:
        log.warning(
            "remote write: %d new series refused (TSAD_REMOTE_WRITE_MAX_NEW_SERIES=%d per "
            "request, or TSAD_MAX_SERIES reached); narrow TSAD_REMOTE_WRITE_MATCH or "
            "write_relabel_configs",
            refused,
            max_new_series,
        )
    return results, created
