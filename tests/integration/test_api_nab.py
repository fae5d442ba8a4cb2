"""Done-when of issue 2 over HTTP: NAB's nyc_taxi posted in batches is flagged inside
its labelled anomaly windows, online on arrival and by ``POST /v1/detect``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import NAB, load_nab, nab_windows
from tsad.api.app import create_app
from tsad.settings import ModelSettings, Settings

FILE = "realKnownCause/nyc_taxi.csv"
BATCH = 48  # one day of 30-min points: one stored band's reach


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Any]]:
    if not (NAB / "data" / FILE).is_file():
        pytest.skip("NAB data is not beside the checkout")
    # three weeks of history per refit (TSAD_FIT_WINDOW) keeps 215 refits quick on 2 cores
    models = ModelSettings(runner="thread", fit_window=1008)
    async with AsyncTestClient(create_app(Settings(models=models))) as c:
        yield c


def in_windows(stamps: list[str], windows: list[tuple[int, int]]) -> list[str]:
    ms = np.array([np.datetime64(s.rstrip("Z"), "ms").astype(np.int64) for s in stamps])
    hit = np.zeros(ms.shape[0], bool)
    for lo, hi in windows:
        hit |= (ms >= lo) & (ms <= hi)
    return [s for s, h in zip(stamps, hit, strict=True) if h]


async def test_nyc_taxi_flags_labelled_windows_online_and_in_batch(
    client: AsyncTestClient[Any],
) -> None:
    """Posting nyc_taxi in batches flags points inside its NAB windows; so does detect."""
    ts, y = load_nab(FILE)
    windows = nab_windows(FILE)
    service = client.app.state.service
    flagged: list[str] = []
    # a backfill of the quiet months first (one big batch), then a day per request
    first_window = min(lo for lo, _ in windows)
    backfill = int(np.searchsorted(ts, first_window - 10 * 86_400_000))
    starts = [0, *range(backfill, ts.shape[0], BATCH)]
    for start, stop in zip(starts, [*starts[1:], ts.shape[0]], strict=True):
        chunk = zip(ts[start:stop].tolist(), y[start:stop].tolist(), strict=True)
        resp = await client.post(
            "/v1/series/nyc_taxi/points", json={"points": [[t / 1000, v] for t, v in chunk]}
        )
        assert resp.status_code == 200, resp.text
        flagged += [p["timestamp"] for p in resp.json()["anomalies"]]
        # refits run in the app's loop (the client's portal); wait so the next batch has a band
        await asyncio.wrap_future(client.blocking_portal.start_task_soon(service.scheduler.drain))
    assert in_windows(flagged, windows), f"none of {len(flagged)} flags is in a window"
    stored = (await client.get("/v1/series/nyc_taxi/anomalies")).json()
    assert stored["count"] == len(set(flagged))

    resp = await client.post("/v1/detect", json={"series_id": "nyc_taxi"})
    assert resp.status_code == 200, resp.text
    batch = [p["timestamp"] for p in resp.json()["points"] if p["is_anomaly"]]
    assert in_windows(batch, windows), f"none of {len(batch)} batch flags is in a window"
