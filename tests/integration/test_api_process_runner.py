"""The app on its default model runner: fits run in a spawned worker process."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from litestar.testing import AsyncTestClient

from tsad.api.app import create_app
from tsad.settings import Settings

T0 = 1_704_067_200


async def test_default_process_runner_fits_refits_and_answers() -> None:
    """With the process runner, a refit stores a band and forecast/detect answer 200."""
    settings = Settings()
    assert settings.models.runner == "process"
    points = [[T0 + 3600 * i, 5.0 + math.sin(2 * math.pi * i / 24)] for i in range(72)]
    async with AsyncTestClient(create_app(settings)) as client:
        service: Any = client.app.state.service
        resp = await client.post("/v1/series/p/points", json={"points": points})
        assert resp.json()["refit_scheduled"] is True
        await asyncio.wrap_future(client.blocking_portal.start_task_soon(service.scheduler.drain))
        band = (await client.get("/v1/series/p")).json()["band"]
        assert band is not None and band["start"] == "2024-01-04T00:00:00Z"
        assert len(band["points"]) >= 12
        fc = await client.post("/v1/forecast", json={"series_id": "p", "h": 4})
        assert fc.status_code == 200 and len(fc.json()["forecast"]) == 4
        det = await client.post("/v1/detect", json={"points": points})
        assert det.status_code == 200 and len(det.json()["points"]) == 72
