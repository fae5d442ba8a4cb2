"""Forecast and detect over real HTTP, on inline points and stored series."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path
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


def daily(n: int) -> list[list[float]]:
    return [[T0 + HOUR * i, 50.0 + 10.0 * math.sin(2 * math.pi * i / 24)] for i in range(n)]


async def test_forecast_inline_points(client: AsyncTestClient[Any]) -> None:
    """h rows continue the grid, with Nixtla-named nested bands at each level."""
    resp = await client.post("/v1/forecast", json={"points": daily(72), "h": 6})
    assert resp.status_code == 200
    answer = resp.json()
    assert answer["model_used"].startswith("stats:") and answer["degraded"] is False
    assert (answer["freq"], answer["h"], answer["levels"]) == ("h", 6, [80.0, 95.0])
    rows = answer["forecast"]
    assert [r["timestamp"] for r in rows[:2]] == ["2024-01-04T00:00:00Z", "2024-01-04T01:00:00Z"]
    assert len(rows) == 6
    for r in rows:
        assert set(r) == {"timestamp", "mean", "lo-80", "hi-80", "lo-95", "hi-95"}
        assert r["lo-95"] <= r["lo-80"] < r["mean"] < r["hi-80"] <= r["hi-95"]
    assert abs(rows[0]["mean"] - 50.0) < 3.0  # the daily cycle restarts at its mean


async def test_forecast_stored_series_reports_cleaning(client: AsyncTestClient[Any]) -> None:
    """A stored series with a gap is forecast at the chosen level; the fill is reported."""
    points = daily(72)
    del points[30:33]
    await client.post("/v1/series/s/points", json={"points": points})
    body = {"series_id": "s", "h": 3, "levels": [90], "model": "stats"}
    answer = (await client.post("/v1/forecast", json=body)).json()
    assert answer["filled"] == 3 and answer["levels"] == [90.0]
    assert set(answer["forecast"][0]) == {"timestamp", "mean", "lo-90", "hi-90"}


async def test_forecast_reports_duplicates_and_unsorted(client: AsyncTestClient[Any]) -> None:
    """Inline points out of order and repeated are accepted and reported."""
    points = [*daily(30)[::-1], daily(1)[0]]
    answer = (await client.post("/v1/forecast", json={"points": points, "h": 2})).json()
    assert (answer["duplicates"], answer["unsorted"]) == (1, True)


async def test_detect_batch_flags_a_spike(client: AsyncTestClient[Any]) -> None:
    """Batch detect scores every point and flags the injected spike, direction up."""
    points = daily(96)
    points[60][1] += 80.0
    resp = await client.post("/v1/detect", json={"points": points})
    assert resp.status_code == 200
    answer = resp.json()
    assert (answer["level"], answer["mode"]) == (99.0, "batch")
    assert len(answer["points"]) == 96
    flagged = [p for p in answer["points"] if p["is_anomaly"]]
    assert answer["anomalies"] == len(flagged)
    assert "2024-01-03T12:00:00Z" in [p["timestamp"] for p in flagged]
    spike = answer["points"][60]
    assert spike["direction"] == "up" and spike["severity"] > 0
    calm = answer["points"][10]
    assert calm["is_anomaly"] is False and calm["direction"] is None
    assert calm["severity"] == 0.0 and 0.0 <= calm["score"] < 1.0


async def test_detect_online_leaves_the_first_points_unscored(client: AsyncTestClient[Any]) -> None:
    """Online mode scores each point from earlier points only; the first ones have no band."""
    await client.post("/v1/series/o/points", json={"points": daily(60)})
    answer = (
        await client.post("/v1/detect", json={"series_id": "o", "mode": "online", "level": 95})
    ).json()
    assert (answer["mode"], answer["level"]) == ("online", 95.0)
    first, later = answer["points"][0], answer["points"][-1]
    assert first["expected"] is None and first["lo"] is None and first["is_anomaly"] is False
    assert later["expected"] is not None and later["lo"] < later["hi"]


@pytest.mark.slow
async def test_ensemble_forecast_of_a_week_is_served_by_the_bundled_model(
    tmp_path: Path,
) -> None:
    """model=ensemble, 8 hourly days, no global fit: tsad-base answers, degraded, with why."""
    settings = Settings(models=ModelSettings(runner="thread", model_dir=str(tmp_path)))
    async with AsyncTestClient(create_app(settings)) as c:
        body = {"points": daily(8 * 24), "h": 24, "model": "ensemble"}
        resp = await c.post("/v1/forecast", json=body)
    assert resp.status_code == 200
    answer = resp.json()
    assert answer["model_used"] == "tsad-base" and answer["degraded"] is True
    assert "not trained" in answer["reason"]
    assert len(answer["forecast"]) == 24
