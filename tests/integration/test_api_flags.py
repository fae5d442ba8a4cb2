"""Flags an operator can trust, over real HTTP: warm-up state, one spike one flag,
sensitivity and the ratio cap, incidents, and `is_anomaly == (score >= threshold)`."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
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


def noisy_daily(n: int, seed: int = 0) -> list[list[float]]:
    """Hourly points: a daily cycle with a little noise."""
    rng = np.random.default_rng(seed)
    return [
        [T0 + HOUR * i, 100.0 + 20.0 * math.sin(2 * math.pi * i / 24) + float(rng.normal(0, 1))]
        for i in range(n)
    ]


async def drain(client: AsyncTestClient[Any]) -> None:
    """Wait for queued refits; they run on the app's loop (the test client's portal)."""
    service = client.app.state.service
    await asyncio.wrap_future(client.blocking_portal.start_task_soon(service.scheduler.drain))


async def test_a_new_series_says_it_is_learning_and_how_much_it_needs(
    client: AsyncTestClient[Any],
) -> None:
    """Series info carries the warm-up state: learning, points still needed, threshold."""
    await client.post("/v1/series/fresh/points", json={"points": noisy_daily(5)})
    info = (await client.get("/v1/series/fresh")).json()
    assert info["learning"] is True and info["points_needed"] > 0
    assert 0 < info["threshold"] < 1 and info["sensitivity"] == 95.0


async def test_history_posted_at_once_is_trusted_after_the_first_refit(
    client: AsyncTestClient[Any],
) -> None:
    """Weeks of history primed by the first refit: not learning, and a spike is flagged."""
    points = noisy_daily(24 * 14)
    await client.post("/v1/series/cpu/points", json={"points": points})
    await drain(client)
    info = (await client.get("/v1/series/cpu")).json()
    assert info["learning"] is False and info["points_needed"] == 0
    nxt = [[T0 + HOUR * (24 * 14), 100.0], [T0 + HOUR * (24 * 14 + 1), 400.0]]
    resp = (await client.post("/v1/series/cpu/points", json={"points": nxt})).json()
    assert [a["timestamp"] for a in resp["anomalies"]] == ["2024-01-15T01:00:00Z"]
    assert resp["anomalies"][0]["direction"] == "up" and resp["anomalies"][0]["score"] > 0.9


async def test_detect_flags_exactly_the_spike_and_flags_follow_the_threshold(
    client: AsyncTestClient[Any],
) -> None:
    """Batch and online: one spike, one flag; every flag scores ≥ threshold, others below."""
    points = noisy_daily(24 * 10, seed=2)
    points[200][1] += 60.0
    for mode in ("batch", "online"):
        body = (await client.post("/v1/detect", json={"points": points, "mode": mode})).json()
        flagged = [i for i, p in enumerate(body["points"]) if p["is_anomaly"]]
        assert flagged == [200], mode
        for p in body["points"]:
            assert p["is_anomaly"] == (p["score"] >= body["threshold"])
        assert body["sensitivity"] == 95.0


async def test_sensitivity_and_ratio_cap_change_the_threshold(
    client: AsyncTestClient[Any],
) -> None:
    """Higher sensitivity lowers the threshold (more flags); the cap bounds the share."""
    points = noisy_daily(24 * 10, seed=3)
    low = (await client.post("/v1/detect", json={"points": points, "sensitivity": 10})).json()
    high = (await client.post("/v1/detect", json={"points": points, "sensitivity": 99.9})).json()
    assert high["threshold"] < low["threshold"]
    assert high["anomalies"] >= low["anomalies"]
    capped = (
        await client.post(
            "/v1/detect",
            json={"points": points, "sensitivity": 99.9, "max_anomaly_ratio": 0.01},
        )
    ).json()
    assert capped["anomalies"] <= math.ceil(0.01 * len(points))
    assert all(p["is_anomaly"] == (p["score"] >= capped["threshold"]) for p in capped["points"])
    bad = await client.post("/v1/detect", json={"points": points, "sensitivity": 120})
    assert bad.status_code in (400, 422) and "sensitivity" in bad.text


async def test_anomalies_can_be_read_as_incidents(client: AsyncTestClient[Any]) -> None:
    """Two episodes far apart come back as two incidents with their peak and size."""
    points = noisy_daily(24 * 18, seed=4)
    history, rest = points[: 24 * 14], points[24 * 14 :]
    for i in (1, 2, 80):  # a two-point episode, then a lone spike past the refractory time
        rest[i][1] += 300.0 + 10 * i
    await client.post("/v1/series/api/points", json={"points": history})
    await drain(client)
    for k in range(0, len(rest), 12):  # arrive in small batches, refits between
        await client.post("/v1/series/api/points", json={"points": rest[k : k + 12]})
        await drain(client)
    body = (await client.get("/v1/series/api/anomalies", params={"group": "incidents"})).json()
    assert body["count"] == 2
    first, second = body["incidents"]
    assert first["start"] == "2024-01-15T01:00:00Z" and first["direction"] == "up"
    assert 1 <= first["points"] <= 2 and 0 < first["peak_score"] < 1
    assert second["start"] == second["end"] == "2024-01-18T08:00:00Z"
    assert not first["open"]


async def test_a_clean_sine_streamed_from_its_first_point_raises_no_flag(
    client: AsyncTestClient[Any],
) -> None:
    """One point per request from the very first, refits in between: no flag at all,
    and the series leaves its warm-up."""
    step = 600  # 10-minute data: a season of 144 points
    for i in range(144 * 4):
        value = 20.0 + 10.0 * math.sin(2 * math.pi * i / 144)
        resp = await client.post(
            "/v1/series/clean/points", json={"points": [[T0 + step * i, value]]}
        )
        assert resp.status_code == 200 and resp.json()["anomalies"] == [], i
        if i % 24 == 0:
            await drain(client)
    await drain(client)
    assert (await client.get("/v1/series/clean/anomalies")).json()["count"] == 0
    info = (await client.get("/v1/series/clean")).json()
    assert info["band"] is not None
