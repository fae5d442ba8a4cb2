"""Series routes over real HTTP: append, score against the stored band, read, delete."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tsad.api.app import create_app
from tsad.settings import ModelSettings, Settings

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
HOUR = 3600


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(Settings(models=ModelSettings(runner="thread")))) as c:
        yield c


def daily(n: int, start: int = T0) -> list[list[float]]:
    """Hourly points with a clean daily cycle."""
    return [[start + HOUR * i, 100.0 + 20.0 * math.sin(2 * math.pi * i / 24)] for i in range(n)]


async def drain(client: AsyncTestClient[Any]) -> None:
    """Wait for queued refits; they run on the app's loop (the test client's portal)."""
    service = client.app.state.service
    await asyncio.wrap_future(client.blocking_portal.start_task_soon(service.scheduler.drain))


async def test_append_answers_counts_and_schedules_a_refit(client: AsyncTestClient[Any]) -> None:
    """A first append answers 200 with counts, nothing scored yet, and a refit queued."""
    resp = await client.post("/v1/series/web.requests/points", json={"points": daily(72)})
    assert resp.status_code == 200
    assert resp.json() == {
        "series_id": "web.requests",
        "accepted": 72,
        "duplicates": 0,
        "unsorted": False,
        "scored": 0,
        "anomalies": [],
        "refit_scheduled": True,
    }


async def test_both_point_forms_and_timestamp_forms_are_accepted(
    client: AsyncTestClient[Any],
) -> None:
    """Pairs and objects, RFC 3339 (with or without offset) and epoch seconds all land."""
    points = [
        ["2024-01-01T00:00:00Z", 1.0],
        {"timestamp": "2024-01-01T01:00:00", "value": 2},
        {"timestamp": "2024-01-01T03:00:00+01:00", "value": 3.5},
        [T0 + 3 * HOUR + 0.5, 4.0],
    ]
    assert (await client.post("/v1/series/m/points", json={"points": points})).status_code == 200
    stored = (await client.get("/v1/series/m/points")).json()
    assert stored["points"] == [
        {"timestamp": "2024-01-01T00:00:00Z", "value": 1.0},
        {"timestamp": "2024-01-01T01:00:00Z", "value": 2.0},
        {"timestamp": "2024-01-01T02:00:00Z", "value": 3.5},
        {"timestamp": "2024-01-01T03:00:00.500Z", "value": 4.0},
    ]


async def test_duplicates_and_unsorted_input_are_reported_not_rejected(
    client: AsyncTestClient[Any],
) -> None:
    """Unsorted batches and repeated timestamps are accepted, reported, last write wins."""
    body = {"points": [[T0 + HOUR, 2.0], [T0, 1.0], [T0, 1.5]]}
    answer = (await client.post("/v1/series/d/points", json=body)).json()
    assert (answer["accepted"], answer["duplicates"], answer["unsorted"]) == (2, 1, True)
    again = (await client.post("/v1/series/d/points", json={"points": [[T0, 9.0]]})).json()
    assert (again["accepted"], again["duplicates"]) == (0, 1)
    values = [p["value"] for p in (await client.get("/v1/series/d/points")).json()["points"]]
    assert values == [9.0, 2.0]


async def test_arriving_points_are_scored_against_the_stored_band(
    client: AsyncTestClient[Any],
) -> None:
    """After a refit, a spike is flagged up on arrival and kept in the anomaly history."""
    await client.post("/v1/series/cpu/points", json={"points": daily(72)})
    await drain(client)
    detail = (await client.get("/v1/series/cpu")).json()
    assert detail["band"] is not None and detail["model_used"].startswith("stats")
    assert detail["band"]["start"] == "2024-01-04T00:00:00Z"
    nxt = daily(76)[72:]
    nxt[2][1] += 500.0
    answer = (await client.post("/v1/series/cpu/points", json={"points": nxt})).json()
    assert answer["scored"] == 4
    [flagged] = answer["anomalies"]
    assert flagged["timestamp"] == "2024-01-04T02:00:00Z"
    assert flagged["direction"] == "up" and flagged["is_anomaly"] is True
    assert flagged["lo"] < flagged["expected"] < flagged["hi"] < flagged["value"]
    assert 0.99 < flagged["score"] <= 1.0 and flagged["severity"] > 1.0
    history = (await client.get("/v1/series/cpu/anomalies")).json()
    assert history["count"] == 1 and history["anomalies"][0] == flagged
    window = "start=2024-01-04T03:00:00Z"
    assert (await client.get(f"/v1/series/cpu/anomalies?{window}")).json()["count"] == 0


async def test_points_query_range_is_inclusive(client: AsyncTestClient[Any]) -> None:
    """start/end (RFC 3339 or epoch seconds) select stored points inclusively."""
    await client.post("/v1/series/r/points", json={"points": daily(10)})
    query = f"start={T0 + 2 * HOUR}&end=2024-01-01T05:00:00Z"
    got = (await client.get(f"/v1/series/r/points?{query}")).json()
    assert got["count"] == 4
    assert [p["timestamp"][11:13] for p in got["points"]] == ["02", "03", "04", "05"]


async def test_list_get_and_delete_series(client: AsyncTestClient[Any]) -> None:
    """Series are listed with count, span and freq; DELETE forgets one (204, then 404)."""
    await client.post("/v1/series/a/points", json={"points": daily(5), "freq": "h"})
    await client.post("/v1/series/b/points", json={"points": daily(3)})
    listed = (await client.get("/v1/series")).json()["series"]
    assert [(s["series_id"], s["count"]) for s in listed] == [("a", 5), ("b", 3)]
    assert listed[0]["first"] == "2024-01-01T00:00:00Z"
    assert listed[0]["last"] == "2024-01-01T04:00:00Z"
    assert listed[0]["freq"] == "h"
    assert (await client.delete("/v1/series/a")).status_code == 204
    assert (await client.get("/v1/series/a")).status_code == 404
    assert [s["series_id"] for s in (await client.get("/v1/series")).json()["series"]] == ["b"]


async def test_bulk_append_stores_every_series(client: AsyncTestClient[Any]) -> None:
    """POST /v1/points appends to each series and answers per series plus totals."""
    body = {
        "series": [
            {"series_id": "host1:cpu", "points": daily(4)},
            {"series_id": "host2:cpu", "points": [*daily(2), daily(2)[0]]},
        ]
    }
    resp = await client.post("/v1/points", json=body)
    assert resp.status_code == 200
    answer = resp.json()
    assert (answer["accepted"], answer["duplicates"]) == (6, 1)
    assert [s["series_id"] for s in answer["series"]] == ["host1:cpu", "host2:cpu"]
    assert (await client.get("/v1/series/host2:cpu")).json()["count"] == 2
