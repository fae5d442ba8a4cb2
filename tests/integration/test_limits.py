"""Per-instance and per-request limits over HTTP, each a setting: series per instance
(TSAD_MAX_SERIES → 413), levels per forecast (TSAD_MAX_LEVELS → 422), and the
limit named in the answer so a client knows what to change."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tsad.api.app import create_app
from tsad.settings import ApiSettings, BufferSettings, ModelSettings, Settings

T0 = 1_704_067_200
POINTS = [[T0 + 3600 * i, float(i % 24)] for i in range(48)]


async def test_series_beyond_the_instance_limit_are_413_and_existing_ones_still_append() -> None:
    """With TSAD_MAX_SERIES=2 a third series is refused (413 naming the setting); the
    first two keep taking points."""
    settings = Settings(models=ModelSettings(runner="thread"), buffer=BufferSettings(max_series=2))
    async with AsyncTestClient(create_app(settings)) as c:
        for sid in ("a", "b"):
            assert (
                await c.post(f"/v1/series/{sid}/points", json={"points": POINTS[:2]})
            ).status_code == 200
        resp = await c.post("/v1/series/c/points", json={"points": POINTS[:2]})
        assert resp.status_code == 413 and "TSAD_MAX_SERIES" in resp.json()["detail"]
        assert (
            await c.post("/v1/series/a/points", json={"points": POINTS[2:4]})
        ).status_code == 200
        assert [s["series_id"] for s in (await c.get("/v1/series")).json()["series"]] == ["a", "b"]


async def test_too_many_levels_is_422_naming_the_limit() -> None:
    """A forecast asking for more levels than TSAD_MAX_LEVELS is 422 with the limit; at
    the limit it is answered."""
    settings = Settings(models=ModelSettings(runner="thread"), api=ApiSettings(max_levels=3))
    async with AsyncTestClient(create_app(settings)) as c:
        body: dict[str, Any] = {"points": POINTS, "h": 2, "levels": [50, 60, 70, 80]}
        resp = await c.post("/v1/forecast", json=body)
        assert resp.status_code == 422 and resp.json()["limit"] == 3
        assert "TSAD_MAX_LEVELS" in resp.json()["detail"]
        resp = await c.post("/v1/forecast", json={**body, "levels": [60, 70, 80]})
        assert resp.status_code == 200 and "hi-80" in resp.json()["forecast"][0]
