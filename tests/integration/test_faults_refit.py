"""A model fit that raises or runs out of time: that series is marked (meta
``last_error``) and served by the seasonal-naive fallback band; other series are
fitted as usual; a later successful fit clears the mark.

The other fault behaviours live beside their subjects: Redis stopped mid-load in
test_redis_faults.py and test_ratelimit.py, TimeGPT slow or failing in
test_timegpt_backend.py and test_timegpt_compat.py, SIGTERM and slow or oversized
bodies in test_faults_serve.py.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import numpy as np
import pytest
from litestar.testing import AsyncTestClient

from tsad.api.app import create_app
from tsad.detect.fallback import MODEL_NAME
from tsad.models.stats import StatsForecaster
from tsad.runner import shared_registry
from tsad.series import Forecast, Series
from tsad.service import TsadService
from tsad.settings import ApiSettings, ModelSettings, Settings

T0 = 1_704_067_200
HOUR = 3600
# the stalled fit sleeps past the tight deadline; an ordinary fit gets the generous one
STALL_S = 6.0
TIGHT_DEADLINE_S = 3.0
DEADLINE_S = 60.0
# a series lifted to one of these levels trips the model (a level, not one marker point:
# the detection paths' robust cleaning would replace a lone marker before any fit)
EXPLODE, STALL = 1e6, -1e6


class Tripwire:
    """The real stats model, except on series that contain a marker value."""

    name = "stats"
    armed = True

    def __init__(self, settings: ModelSettings) -> None:
        self.inner = StatsForecaster(settings)

    def min_points(self, step_ms: int) -> int:
        return self.inner.min_points(step_ms)

    def forecast(self, history: Series, step_ms: int, h: int, levels: Sequence[float]) -> Forecast:
        if Tripwire.armed and float(np.min(history.y)) >= EXPLODE - 1e3:
            raise ValueError("model exploded on this series")
        if Tripwire.armed and float(np.max(history.y)) <= STALL + 1e3:
            time.sleep(STALL_S)  # past the deadline of the deadline test
        return self.inner.forecast(history, step_ms, h, levels)

    def insample(self, history: Series, step_ms: int, levels: Sequence[float]) -> Forecast:
        return self.inner.insample(history, step_ms, levels)


def _settings(deadline_s: float) -> Settings:
    # a fit window no other test uses: shared_registry is per ModelSettings
    models = ModelSettings(runner="thread", model_workers=2, fit_window=1_777)
    return Settings(models=models, api=ApiSettings(request_deadline_s=deadline_s))


def daily(n: int, marker: float | None = None, level: float = 0.0) -> list[list[float]]:
    pts = [[T0 + HOUR * i, level + 100.0 + 20.0 * math.sin(2 * math.pi * i / 24)] for i in range(n)]
    if marker is not None:
        pts[10][1] = marker
    return pts


@pytest.fixture(params=[DEADLINE_S])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[AsyncTestClient[Any]]:
    """An app whose stats model is the tripwire; the deadline is the param (a slow, loaded
    machine must not turn an ordinary fit into a timeout)."""
    import statsforecast.models  # noqa: F401  (imported up front: not part of any deadline)

    settings = _settings(request.param)
    shared_registry(settings.models).register("stats", Tripwire)
    Tripwire.armed = True
    async with AsyncTestClient(create_app(settings)) as c:
        yield c


async def _refit(client: AsyncTestClient[Any], series_id: str) -> Any:
    """Wait for the refits the appends queued, then refit ``series_id`` once more."""
    service: TsadService = client.app.state.service
    await asyncio.wrap_future(client.blocking_portal.start_task_soon(service.scheduler.drain))
    return await service.refit(series_id)


async def _settled(client: AsyncTestClient[Any]) -> None:
    """Wait for the refits the appends queued (the app's background scheduler)."""
    service: TsadService = client.app.state.service
    await asyncio.wrap_future(client.blocking_portal.start_task_soon(service.scheduler.drain))


async def test_a_fit_that_raises_marks_the_series_and_serves_the_fallback(
    client: AsyncTestClient[Any],
) -> None:
    """The failing series gets last_error and a fallback band that still flags a spike;
    a healthy series fitted in the same run gets the real model and no mark."""
    await client.post("/v1/series/bad/points", json={"points": daily(96, level=EXPLODE)})
    await client.post("/v1/series/good/points", json={"points": daily(96)})
    band = await _refit(client, "bad")
    assert band is not None and band.model_used == MODEL_NAME
    good = await _refit(client, "good")
    assert good is not None and good.model_used.startswith("stats")

    bad_info = (await client.get("/v1/series/bad")).json()
    assert "model exploded" in bad_info["last_error"] and bad_info["failed_at"]
    assert bad_info["model_used"] == MODEL_NAME and bad_info["band"] is not None
    good_info = (await client.get("/v1/series/good")).json()
    assert good_info["last_error"] is None and good_info["model_used"].startswith("stats")

    # the fallback band scores arrivals: a normal next point passes, a spike is flagged
    nxt = T0 + HOUR * 96
    ok = await client.post("/v1/series/bad/points", json={"points": [[nxt, EXPLODE + 100.0]]})
    assert ok.json()["scored"] == 1 and ok.json()["anomalies"] == []
    spike = await client.post(
        "/v1/series/bad/points", json={"points": [[nxt + HOUR, EXPLODE + 900.0]]}
    )
    [flagged] = spike.json()["anomalies"]
    assert flagged["direction"] == "up"


@pytest.mark.parametrize("client", [TIGHT_DEADLINE_S], indirect=True)
async def test_a_fit_past_its_deadline_is_served_by_the_fallback(
    client: AsyncTestClient[Any],
) -> None:
    """A fit that outlives the deadline is abandoned: the series is marked with the deadline
    error and served by the fallback band while the other series is fitted normally."""
    # the appends queue both refits; the stalled fit holds one model worker past its deadline
    await client.post("/v1/series/slow/points", json={"points": daily(96, level=STALL)})
    await client.post("/v1/series/fine/points", json={"points": daily(96)})
    await _settled(client)
    info = (await client.get("/v1/series/slow")).json()
    assert info["model_used"] == MODEL_NAME and info["band"] is not None
    assert "did not finish within" in info["last_error"]
    fine = (await client.get("/v1/series/fine")).json()
    assert fine["last_error"] is None and fine["model_used"].startswith("stats")


async def test_a_later_successful_fit_clears_the_mark(client: AsyncTestClient[Any]) -> None:
    """Once the model fits again, last_error goes and the model's band replaces the fallback."""
    await client.post("/v1/series/flaky/points", json={"points": daily(96, level=EXPLODE)})
    await _refit(client, "flaky")
    assert (await client.get("/v1/series/flaky")).json()["last_error"]
    Tripwire.armed = False
    band = await _refit(client, "flaky")
    assert band is not None and band.model_used.startswith("stats")
    info = (await client.get("/v1/series/flaky")).json()
    assert info["last_error"] is None and info["failed_at"] is None


def test_fallback_band_repeats_the_last_season_with_a_robust_width() -> None:
    """The fallback band's mean is the last day repeated and its width ignores one outlier."""
    from tsad.detect.fallback import fallback_band

    pts = np.asarray(daily(96, EXPLODE))
    ts, y = (pts[:, 0] * 1000).astype(np.int64), pts[:, 1]
    band = fallback_band(ts, y, None, 99.0, 12)
    assert band.start == int(ts[-1]) + HOUR * 1000
    np.testing.assert_allclose(band.mean[:24], y[-24:])
    assert float(np.max(band.hi - band.lo)) < 10.0  # the 1e6 outlier did not blow it up
