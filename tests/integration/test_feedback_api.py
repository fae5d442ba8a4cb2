"""The feedback routes over HTTP: record, list with filters, delete, reset, the
ranker's state; bad input is a 4xx problem and stores nothing."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tsad.api.app import create_app
from tsad.settings import ModelSettings, Settings

T0 = 1_704_067_200
HOUR = 3600


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(Settings(models=ModelSettings(runner="thread")))) as c:
        yield c


async def _series(client: AsyncTestClient[Any]) -> None:
    """A short series (labels need one to exist; these tests need no fitted band)."""
    points = [[T0 + HOUR * i, 100.0 + 20.0 * math.sin(2 * math.pi * i / 24)] for i in range(8)]
    r = await client.post("/v1/series/web.latency/points", json={"points": points})
    assert r.status_code == 200


async def test_feedback_is_recorded_listed_filtered_and_deleted(
    client: AsyncTestClient[Any],
) -> None:
    """POST answers 201 with the record; GET filters by label and range; the series
    info counts the labels; DELETE removes one (204) and a second DELETE is a 404."""
    await _series(client)
    url = "/v1/series/web.latency/feedback"
    r = await client.post(
        url, json={"label": "expected", "start": T0 + 300 * HOUR, "end": T0 + 302 * HOUR}
    )
    assert r.status_code == 201, r.text
    expected = r.json()
    assert expected["label"] == "expected" and expected["end"] == "2024-01-13T14:00:00Z"
    r = await client.post(
        url, json={"label": "missed", "timestamp": "2024-01-02T00:00:00Z", "author": "ana"}
    )
    assert r.status_code == 201 and r.json()["start"] == r.json()["end"]
    listed = (await client.get(url)).json()
    assert listed["count"] == 2
    only = (await client.get(url, params={"label": "missed"})).json()
    assert [f["author"] for f in only["feedback"]] == ["ana"]
    early = (await client.get(url, params={"end": T0 + 48 * HOUR})).json()
    assert [f["label"] for f in early["feedback"]] == ["missed"]
    info = (await client.get("/v1/series/web.latency")).json()
    assert info["feedback_count"] == 2 and info["threshold_offset"] < 0
    assert (await client.delete(f"{url}/{expected['id']}")).status_code == 204
    assert (await client.delete(f"{url}/{expected['id']}")).status_code == 404
    assert (await client.get(url)).json()["count"] == 1
    reset = (await client.post(f"{url}/reset")).json()
    assert reset["threshold_offset"] == 0 and reset["feedback_count"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"label": "nonsense", "timestamp": T0},
        {"label": "missed"},
        {"label": "missed", "timestamp": T0, "start": T0},
        {"label": "missed", "start": T0 + 10, "end": T0},
        {"label": "missed", "timestamp": "not a time"},
        {"label": "missed", "timestamp": T0, "note": "x" * 5000},
    ],
)
async def test_bad_feedback_is_a_422_and_stores_nothing(
    client: AsyncTestClient[Any], body: dict[str, Any]
) -> None:
    """A bad label, no time, both forms, an inverted range, a bad stamp or an oversized
    note is refused as a problem detail and nothing is stored."""
    await _series(client)
    r = await client.post("/v1/series/web.latency/feedback", json=body)
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert (await client.get("/v1/series/web.latency/feedback")).json()["count"] == 0


async def test_feedback_on_an_unknown_series_is_a_404(client: AsyncTestClient[Any]) -> None:
    """Feedback needs an existing series: POST and GET on an unknown one are 404s."""
    r = await client.post("/v1/series/nope/feedback", json={"label": "missed", "timestamp": T0})
    assert r.status_code == 404
    assert (await client.get("/v1/series/nope/feedback")).status_code == 404


async def test_ranker_status_says_it_is_off_until_enough_labels(
    client: AsyncTestClient[Any],
) -> None:
    """The ranker reports off with the reason before there are enough labels, also after
    a retrain is asked for."""
    before = (await client.get("/v1/feedback/ranker")).json()
    assert before["enabled"] is False
    after = (await client.post("/v1/feedback/ranker/train")).json()
    assert after["enabled"] is False and "enough labels" in after["reason"]
    assert after["labels"] == 0 and after["suppress_below"] == 0.0
    await _series(client)
    r = await client.get("/v1/series/web.latency/anomalies", params={"group": "incidents"})
    assert r.status_code == 200 and r.json()["incidents"] == []


async def test_series_export_includes_points_anomalies_and_feedback(
    client: AsyncTestClient[Any],
) -> None:
    """GET /v1/series/{id}/export gives the series' meta, points, anomalies and its
    feedback in one document; an unknown series is a 404."""
    await _series(client)
    await client.post(
        "/v1/series/web.latency/feedback",
        json={"label": "missed", "timestamp": T0 + HOUR, "note": "slow"},
    )
    out = (await client.get("/v1/series/web.latency/export")).json()
    assert out["series_id"] == "web.latency" and len(out["points"]) == 8
    assert out["anomalies"] == [] and "feedback" in out["meta"]
    assert [(f["label"], f["note"]) for f in out["feedback"]] == [("missed", "slow")]
    assert (await client.get("/v1/series/nope/export")).status_code == 404
