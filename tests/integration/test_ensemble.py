"""The ``ensemble`` model: stats, global NHITS/PatchTST and seasonal-naive members, tiny fits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from tsad.errors import NotEnoughPoints
from tsad.jobs import forecast_job
from tsad.models.ensemble import EnsembleForecaster
from tsad.queue.memory import MemoryRefitQueue
from tsad.series import Band, Series
from tsad.service import TsadService
from tsad.settings import ModelSettings, Settings

pytestmark = pytest.mark.slow

HOUR = 3_600_000
T0 = 1_700_000_000_000
N = 600  # the longest member input is 512 points (21 days) + a 48-step horizon


def seasonal(seed: int, n: int = N) -> Series:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 30 + 6 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.4, n)
    return Series((T0 + t * HOUR).astype(np.int64), y)


def settings(model_dir: Path) -> ModelSettings:
    return ModelSettings(
        runner="thread", model_dir=str(model_dir), neural_max_steps=3, neural_global_steps=3
    )


def test_without_trained_members_it_raises_and_the_job_falls_back_to_stats(
    tmp_path: Path,
) -> None:
    """No global fit yet: NotEnoughPoints, so a forecast job answers stats, degraded."""
    ens = EnsembleForecaster(settings(tmp_path))
    with pytest.raises(NotEnoughPoints):
        ens.forecast(seasonal(0), HOUR, 24, [95])
    s = seasonal(0)
    out = forecast_job(settings(tmp_path), "ensemble", s.ts, s.y, None, 24, [95])
    assert out.report.degraded and out.report.model_used.startswith("stats")


def test_trained_ensemble_forecasts_a_recentred_stats_band(tmp_path: Path) -> None:
    """After fit_many (PatchTST and NHITS members stored): model_used ensemble, ordered
    band, each side as wide as stats'."""
    ens = EnsembleForecaster(settings(tmp_path))
    ens.fit_many([seasonal(s) for s in range(3)], HOUR, 48, max_steps=3)
    # the global fit trains a transformer member beside the NHITS ones
    for kind in ("patchtst", "nhits"):
        assert list((tmp_path / kind).glob("*.safetensors")), f"no {kind} member was trained"
    history = seasonal(7)
    fc = ens.forecast(history, HOUR, 24, [80, 95])
    base = ens.stats.forecast(history, HOUR, 24, [80, 95]).band
    band = fc.band
    assert fc.model_used == "ensemble" and len(band) == 24
    for lv in (80, 95):
        assert np.all(band.lo[lv] <= band.mean) and np.all(band.mean <= band.hi[lv])
        np.testing.assert_allclose(band.mean - band.lo[lv], base.mean - base.lo[lv])
        np.testing.assert_allclose(band.hi[lv] - band.mean, base.hi[lv] - base.mean)
    assert not np.allclose(band.mean, base.mean), "the neural members changed nothing"
    # a series too short for every member's input window gets no ensemble forecast
    with pytest.raises(NotEnoughPoints):
        ens.forecast(seasonal(1, n=200), HOUR, 24, [95])


def test_the_point_forecast_is_the_median_floored_at_the_history_minimum() -> None:
    """Members below everything the series has shown are lifted to its minimum."""
    ens = EnsembleForecaster(ModelSettings())
    history = Series(np.arange(10, dtype=np.int64) * HOUR, np.full(10, 5.0))
    base = Band(
        np.arange(3, dtype=np.int64),
        np.array([6.0, 4.0, 9.0]),
        {95.0: np.array([5.0, 3.0, 8.0])},
        {95.0: np.array([8.0, 5.0, 10.0])},
    )
    members = [np.array([7.0, 1.0, 9.0]), np.array([8.0, 2.0, 12.0]), np.array([2.0, 3.0, 1.0])]
    band = ens._combine(history, base, members)
    # medians 6.5, 2.5, 9 → the middle one floored at 5
    np.testing.assert_allclose(band.mean, [6.5, 5.0, 9.0])
    np.testing.assert_allclose(band.lo[95.0], [5.5, 4.0, 8.0])
    np.testing.assert_allclose(band.hi[95.0], [8.5, 6.0, 10.0])


async def test_service_trains_the_ensemble_after_its_first_degraded_refit(tmp_path: Path) -> None:
    """model=ensemble: the first refit serves stats (degraded) and queues the global
    fit; once the members are trained the series is refitted with the ensemble."""
    service = TsadService(Settings(models=settings(tmp_path)))
    try:
        for seed, sid in enumerate(("e1", "e2")):
            s = seasonal(seed)
            await service.ingest(sid, s.ts, s.y, model="ensemble")
        scheduler = service.scheduler
        assert isinstance(scheduler, MemoryRefitQueue)
        await asyncio.wait_for(scheduler.drain(), 600)
        meta = (await service.series("e1")).meta
        assert meta.model_used == "ensemble" and meta.degraded is False
    finally:
        await service.close()


def test_members_trained_in_processes_forecast_like_members_trained_in_turn(
    tmp_path: Path,
) -> None:
    """fit_many(workers=2) trains each member in a spawned process, reports progress,
    and gives the same forecast as training them one after another."""
    data = [seasonal(s) for s in range(3)]
    history = seasonal(7)
    one = EnsembleForecaster(settings(tmp_path / "one"))
    one.fit_many(data, HOUR, 48, max_steps=3)
    seen: list[tuple[int, int]] = []
    two = EnsembleForecaster(settings(tmp_path / "two"))
    two.fit_many(data, HOUR, 48, max_steps=3, workers=2, progress=lambda i, n: seen.append((i, n)))
    total = 3 * len(two.members)
    assert seen and seen[-1] == (total, total), "progress should reach every member x 3 steps"
    a = one.forecast(history, HOUR, 24, [95]).band
    b = two.forecast(history, HOUR, 24, [95]).band
    np.testing.assert_allclose(b.mean, a.mean, rtol=1e-5)
