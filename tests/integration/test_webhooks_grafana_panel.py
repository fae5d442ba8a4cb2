"""Grafana panel data over HTTP: Infinity rows and the SimpleJSON-compatible routes."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from litestar.testing import AsyncTestClient

from tsad.api.app import create_app
from tsad.series import format_ts
from tsad.settings import ModelSettings, Settings

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z, seconds
HOUR = 3600


NOISE = np.random.default_rng(7).normal(0, 0.5, 80)


def level(i: int) -> float:
    return 50 + 5 * math.sin(2 * math.pi * i / 24) + float(NOISE[i])


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Any]]:
    """An app holding series 'cpu': 72 hourly points, a fitted band, then a normal point
    and a spike (+40) scored on arrival."""
    settings = Settings(models=ModelSettings(runner="thread"))
    app = create_app(settings)
    async with AsyncTestClient(app) as c:
        points = [[T0 + HOUR * i, level(i)] for i in range(72)]
        assert (await c.post("/v1/series/cpu/points", json={"points": points})).status_code == 200
        for _ in range(600):
            if (await c.get("/v1/series/cpu")).json().get("band"):
                break
            await asyncio.sleep(0.05)
        late = [[T0 + HOUR * 72, level(72)], [T0 + HOUR * 73, level(73) + 40]]
        resp = await c.post("/v1/series/cpu/points", json={"points": late})
        assert [a["timestamp"] for a in resp.json()["anomalies"]] == ["2024-01-04T01:00:00Z"]
        yield c


async def test_panel_rows_carry_value_band_and_flag(client: AsyncTestClient[Any]) -> None:
    """Infinity rows give each point its band and flag, then the band ahead with no value."""
    resp = await client.get(
        "/v1/series/cpu/panel", params={"start": "2024-01-03T22:00:00Z", "end": "2024-01-04T05:00Z"}
    )
    assert resp.status_code == 200, resp.text
    rows = {r["time"]: r for r in resp.json()}
    hours = [T0 + HOUR * (70 + h) for h in range(8)]
    assert set(rows) == {format_ts(t * 1000) for t in hours}
    before_band = rows["2024-01-03T23:00:00Z"]  # history the band was fitted on
    assert before_band["value"] is not None and before_band["expected"] is None
    normal, spike = rows["2024-01-04T00:00:00Z"], rows["2024-01-04T01:00:00Z"]
    assert normal["lo"] < normal["value"] < normal["hi"] and normal["anomalous"] == 0
    assert spike["is_anomaly"] and spike["anomalous"] == 1 and spike["value"] > spike["hi"]
    ahead = rows["2024-01-04T05:00:00Z"]
    assert ahead["value"] is None and ahead["lo"] < ahead["expected"] < ahead["hi"]


async def test_panel_of_unknown_series_is_404(client: AsyncTestClient[Any]) -> None:
    """Asking for the panel of a series tsad does not hold is a 404 problem."""
    resp = await client.get("/v1/series/nope/panel")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_simplejson_root_and_search(client: AsyncTestClient[Any]) -> None:
    """'/grafana/' answers 200; search offers the series with Grafana ML suffixes."""
    assert (await client.get("/grafana/")).status_code == 200
    found = await client.post("/grafana/search", json={"target": "cp"})
    assert found.json() == ["cpu", "cpu:predicted", "cpu:anomalous"]
    assert (await client.post("/grafana/search", json={"target": "zzz"})).json() == []


async def test_simplejson_query_mirrors_grafana_ml_names(client: AsyncTestClient[Any]) -> None:
    """Query answers the actual series, yhat/yhat_lower/yhat_upper and anomalous 1/-1/0."""
    body = {
        "range": {"from": "2024-01-04T00:00:00.000Z", "to": "2024-01-04T02:00:00.000Z"},
        "targets": [
            {"target": "cpu", "refId": "A", "type": "timeserie"},
            {"target": "cpu:predicted", "refId": "B", "type": "timeserie"},
            {"target": "cpu:anomalous", "refId": "C", "type": "timeserie"},
        ],
        "intervalMs": 3600000,
        "maxDataPoints": 500,
    }
    resp = await client.post("/grafana/query", json=body)
    assert resp.status_code == 200, resp.text
    series = {s["target"]: s["datapoints"] for s in resp.json()}
    t72, t73, t74 = ((T0 + HOUR * k) * 1000 for k in (72, 73, 74))
    assert [t for _, t in series["cpu"]] == [t72, t73]
    assert set(series) == {
        "cpu",
        'cpu:predicted{ml_forecast="yhat"}',
        'cpu:predicted{ml_forecast="yhat_lower"}',
        'cpu:predicted{ml_forecast="yhat_upper"}',
        "cpu:anomalous",
    }
    assert [t for _, t in series['cpu:predicted{ml_forecast="yhat"}']] == [t72, t73, t74]
    assert series["cpu:anomalous"] == [[0.0, t72], [1.0, t73]]


async def test_simplejson_annotations_mark_anomalies(client: AsyncTestClient[Any]) -> None:
    """Annotations list each flagged point of the named series at its time in ms."""
    body = {
        "range": {"from": "2024-01-01T00:00:00Z", "to": "2024-01-05T00:00:00Z"},
        "annotation": {"name": "anomalies", "query": "cpu", "enable": True},
    }
    resp = await client.post("/grafana/annotations", json=body)
    assert resp.status_code == 200, resp.text
    (item,) = resp.json()
    assert item["time"] == (T0 + HOUR * 73) * 1000 and item["tags"] == ["cpu", "up"]
    assert item["annotation"]["name"] == "anomalies" and "outside" in item["text"]


async def test_bad_grafana_queries_get_problem_details(client: AsyncTestClient[Any]) -> None:
    """A range that cannot be read or is reversed is a 422 saying which."""
    bad = {"range": {"from": "soon", "to": "later"}, "targets": [{"target": "cpu"}]}
    resp = await client.post("/grafana/query", json=bad)
    assert resp.status_code == 422 and "range" in resp.json()["detail"]
    reverse = {"range": {"from": "2024-01-05T00:00:00Z", "to": "2024-01-01T00:00:00Z"}}
    resp = await client.post("/grafana/annotations", json=reverse)
    assert resp.status_code == 422 and "after" in resp.json()["detail"]
