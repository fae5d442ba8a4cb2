"""A backend added as one file and one catalogue entry serves /v1/forecast and /v1/detect."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tsad.api.app import create_app
from tsad.models import catalogue
from tsad.models.catalogue import ModelEntry
from tsad.settings import ModelSettings, Settings

T0 = 1_704_067_200


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Any]]:
    entry = ModelEntry(
        name="toy", summary="test", backend="tests.fixtures.toy_backend:ToyForecaster"
    )
    catalogue.add(entry)
    try:
        # thread runner: an entry added at run time lives in this process only
        settings = Settings(models=ModelSettings(runner="thread", fit_window=1_333))
        async with AsyncTestClient(create_app(settings)) as c:
            yield c
    finally:
        catalogue.remove("toy")


def points(n: int) -> list[list[float]]:
    return [[T0 + 3600 * i, 10.0 + math.sin(i / 3)] for i in range(n)]


async def test_the_new_model_forecasts_and_detects(client: AsyncTestClient[Any]) -> None:
    """model=toy is answered by the fixture's forecaster on both batch routes."""
    resp = await client.post("/v1/forecast", json={"points": points(48), "h": 4, "model": "toy"})
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["model_used"] == "toy" and len(answer["forecast"]) == 4
    resp = await client.post("/v1/detect", json={"points": points(48), "model": "toy"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["model_used"] == "toy"
