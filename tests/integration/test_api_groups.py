"""Group routes over real HTTP: define a group, detect over it (batch, online replay,
inline) with top contributors, and the group hot path scoring rows on arrival."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from litestar.testing import AsyncTestClient

from tests.unit.test_multivariate import metrics
from tsad.api.app import create_app
from tsad.multivariate.groups import WARMUP_ROWS
from tsad.settings import BufferSettings, ModelSettings, Settings

T0 = 1_704_067_200
MIN = 60
NAMES = ("cpu", "lat", "err")


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Any]]:
    settings = Settings(
        buffer=BufferSettings(backend="memory"), models=ModelSettings(runner="thread")
    )
    async with AsyncTestClient(create_app(settings)) as c:
        yield c


def points(values: np.ndarray, j: int, start: int = 0) -> list[list[float]]:
    return [[T0 + MIN * (start + i), float(v)] for i, v in enumerate(values[:, j])]


async def store(client: AsyncTestClient[Any], values: np.ndarray) -> None:
    for j, sid in enumerate(NAMES):
        r = await client.post(f"/v1/series/{sid}/points", json={"points": points(values, j)})
        assert r.status_code == 200, r.text
    r = await client.post("/v1/groups", json={"name": "host", "series": list(NAMES)})
    assert r.status_code == 201, r.text


async def test_group_crud(client: AsyncTestClient[Any]) -> None:
    """A group is created, listed, read (in warm-up) and deleted; unknown is 404, bad 422."""
    r = await client.post("/v1/groups", json={"name": "g1", "series": ["a", "b"]})
    assert r.status_code == 201 and r.json()["learning"] is True
    assert [g["name"] for g in (await client.get("/v1/groups")).json()] == ["g1"]
    assert (await client.get("/v1/groups/g1")).json()["series"] == ["a", "b"]
    assert (await client.delete("/v1/groups/g1")).status_code == 204
    assert (await client.get("/v1/groups/g1")).status_code == 404
    assert (await client.post("/v1/groups", json={"name": "g", "series": ["a"]})).status_code == 422


async def test_batch_and_online_detect_name_the_contributor(client: AsyncTestClient[Any]) -> None:
    """Batch and online replay flag the broken relation with latency among the top two
    contributors (with cpu: one row cannot tell which side of a relation moved);
    online replay's warm-up rows say learning and carry no flag."""
    await store(client, metrics(400, fault=slice(320, 380)))
    for mode in ("batch", "online"):
        r = await client.post("/v1/groups/host/detect", json={"mode": mode, "top": 2})
        assert r.status_code == 200, r.text
        pts = r.json()["points"]
        assert len(pts) == 400
        flagged = [p for p in pts if p["is_anomaly"]]
        assert flagged and all(pts.index(p) >= 320 for p in flagged[:5])
        top2 = {c["series_id"] for c in pts[370]["contributors"]}
        assert pts[370]["is_anomaly"] and "lat" in top2 and "err" not in top2
        assert all(p["score"] >= r.json()["threshold"] for p in flagged)
    assert all(p["learning"] and not p["is_anomaly"] for p in pts[:WARMUP_ROWS])


async def test_inline_group_detect(client: AsyncTestClient[Any]) -> None:
    """A group given inline (series id → points) is detected without being stored."""
    v = metrics(300, fault=slice(240, 300))
    body = {"series": {s: points(v, j) for j, s in enumerate(NAMES)}}
    r = await client.post("/v1/groups/inline/detect", json=body)
    assert r.status_code == 200, r.text
    flags = [p["is_anomaly"] for p in r.json()["points"]]
    assert sum(flags[250:]) > sum(flags[:200])
    assert r.json()["filled"] == {"cpu": 0, "lat": 0, "err": 0}


async def test_gaps_are_filled_and_reported(client: AsyncTestClient[Any]) -> None:
    """A member missing rows is filled on the group's grid and the count is reported."""
    v = metrics(200)
    series = {s: points(v, j) for j, s in enumerate(NAMES)}
    series["err"] = [p for i, p in enumerate(series["err"]) if i % 10 != 5]
    r = await client.post("/v1/groups/inline/detect", json={"series": series})
    assert r.status_code == 200, r.text
    assert r.json()["filled"] == {"cpu": 0, "lat": 0, "err": 20}
    assert len(r.json()["points"]) == 200


async def test_hot_path_scores_rows_after_the_background_fit(client: AsyncTestClient[Any]) -> None:
    """Rows posted to a group with history trigger one background fit; once it is in, later
    rows are scored on arrival, a fault flagged with its contributors and kept as an anomaly."""
    await store(client, metrics(300))
    v = metrics(10, seed=3)
    rows = [
        {
            "timestamp": T0 + MIN * (300 + i),
            "values": dict(zip(NAMES, map(float, v[i]), strict=True)),
        }
        for i in range(10)
    ]
    r = await client.post("/v1/groups/host/points", json={"rows": rows})
    assert r.status_code == 200 and r.json()["learning"] and r.json()["training_scheduled"]
    for _ in range(100):
        if not (await client.get("/v1/groups/host")).json()["learning"]:
            break
        await asyncio.sleep(0.05)
    v = metrics(80, seed=4, fault=slice(20, 80))
    rows = [
        {
            "timestamp": T0 + MIN * (310 + i),
            "values": dict(zip(NAMES, map(float, v[i]), strict=True)),
        }
        for i in range(80)
    ]
    r = await client.post("/v1/groups/host/points", json={"rows": rows})
    pts = r.json()["points"]
    assert not any(p["learning"] for p in pts)
    assert not any(p["is_anomaly"] for p in pts[:20])
    assert any(p["is_anomaly"] for p in pts[40:])
    anomalies = (await client.get("/v1/groups/host/anomalies")).json()
    assert anomalies and "lat" in {c["series_id"] for c in anomalies[-1]["contributors"][:2]}


def rows_from(v: np.ndarray, start: int) -> list[dict[str, Any]]:
    return [
        {
            "timestamp": T0 + MIN * (start + i),
            "values": dict(zip(NAMES, map(float, r), strict=True)),
        }
        for i, r in enumerate(v)
    ]


async def test_group_and_its_model_survive_a_restart(tmp_path: Path) -> None:
    """On the embedded store a group's definition and fitted model outlive the process:
    after a restart the group is listed, not learning, and scores a fault on arrival."""
    settings = Settings(
        buffer=BufferSettings(backend="embedded", data_dir=str(tmp_path / "data")),
        models=ModelSettings(runner="thread"),
    )
    async with AsyncTestClient(create_app(settings)) as first:
        await store(first, metrics(300))
        r = await first.post("/v1/groups/host/points", json={"rows": rows_from(metrics(10), 300)})
        assert r.json()["training_scheduled"]
        for _ in range(200):
            if not (await first.get("/v1/groups/host")).json()["learning"]:
                break
            await asyncio.sleep(0.05)
        assert not (await first.get("/v1/groups/host")).json()["learning"]
    async with AsyncTestClient(create_app(settings)) as again:
        assert [g["name"] for g in (await again.get("/v1/groups")).json()] == ["host"]
        assert (await again.get("/v1/groups/host")).json()["learning"] is False
        v = metrics(60, seed=4, fault=slice(20, 60))
        r = await again.post("/v1/groups/host/points", json={"rows": rows_from(v, 310)})
        pts = r.json()["points"]
        assert not r.json()["training_scheduled"] and not any(p["learning"] for p in pts)
        assert not any(p["is_anomaly"] for p in pts[:20]) and any(p["is_anomaly"] for p in pts[30:])
        assert (await again.delete("/v1/groups/host")).status_code == 204
    async with AsyncTestClient(create_app(settings)) as third:
        assert (await third.get("/v1/groups")).json() == []


async def test_hot_path_rejects_unknown_members(client: AsyncTestClient[Any]) -> None:
    """A row naming a series outside the group is a 422, and nothing is appended."""
    await client.post("/v1/groups", json={"name": "g2", "series": ["a", "b"]})
    r = await client.post(
        "/v1/groups/g2/points", json={"rows": [{"timestamp": T0, "values": {"a": 1, "zz": 2}}]}
    )
    assert r.status_code == 422
    assert (await client.get("/v1/series/a")).status_code == 404
