"""The bundled ``tsad-base`` model: shipped weights load offline, zero-shot forecasts
for short histories, clear errors and fallback when a history is too short."""

from __future__ import annotations

import socket
import tomllib
from pathlib import Path

import numpy as np
import pytest

from tsad.errors import NotEnoughPoints
from tsad.jobs import forecast_job
from tsad.models.pretrained_base import (
    NAME,
    BaseModelForecaster,
    bundled_dir,
    load_bundled,
    widen_factor,
)
from tsad.models.registry import ModelRegistry
from tsad.series import Series
from tsad.settings import ModelSettings

pytestmark = pytest.mark.slow

HOUR = 3_600_000
T0 = 1_700_000_000_000
ROOT = Path(__file__).resolve().parents[2]


def daily(days: float, level: float = 100.0, seed: int = 0) -> Series:
    rng = np.random.default_rng(seed)
    t = np.arange(int(days * 24))
    y = level * (1 + 0.3 * np.sin(2 * np.pi * t / 24)) + rng.normal(0, 0.02 * level, t.shape[0])
    return Series((T0 + t * HOUR).astype(np.int64), y)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network: any connection attempt fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tsad-base tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_shipped_weights_forecast_offline_from_a_fresh_model_dir(
    tmp_path: Path, offline: None
) -> None:
    """The packaged weights (≤ 10 MB) serve a 2-day history through the registry, offline."""
    weights = bundled_dir() / "patchtst" / f"{NAME}.safetensors"
    assert 0 < weights.stat().st_size <= 10_000_000
    registry = ModelRegistry(ModelSettings(model_dir=str(tmp_path / "fresh")))
    fc = registry.get("tsad-base").forecast(daily(2), HOUR, 24, [80, 95])
    band = fc.band
    assert fc.model_used == NAME and len(band) == 24
    assert np.all(band.lo[95] <= band.lo[80]) and np.all(band.lo[80] <= band.mean)
    assert np.all(band.mean <= band.hi[80]) and np.all(band.hi[80] <= band.hi[95])
    # a zero-shot forecast still follows the series' own level
    assert 70 < float(np.median(band.mean)) < 130
    assert not list((tmp_path / "fresh").glob("**/*.safetensors")), "nothing is fitted"


def test_horizon_beyond_the_trained_one_is_rolled_forward() -> None:
    """h longer than the network's horizon comes back whole, continuing the timestamps."""
    s = daily(5)
    band = BaseModelForecaster().forecast(s, HOUR, 100, [95]).band
    assert len(band) == 100 and np.all(np.isfinite(band.mean))
    assert band.ts[0] == s.ts[-1] + HOUR and band.ts[-1] == s.ts[-1] + 100 * HOUR


def test_too_short_history_raises_not_enough_points_and_jobs_fall_back() -> None:
    """Under two seasons → NotEnoughPoints(needed=48); a forecast job falls back to stats."""
    short = daily(1.5)
    with pytest.raises(NotEnoughPoints) as err:
        BaseModelForecaster().forecast(short, HOUR, 24, [95])
    assert (err.value.needed, err.value.got) == (48, 36)
    out = forecast_job(ModelSettings(), "tsad-base", short.ts, short.y, None, 12, [95])
    assert out.report.degraded and out.report.model_used.startswith("stats")


def test_a_global_model_without_its_history_falls_back_to_tsad_base_for_a_week(
    tmp_path: Path,
) -> None:
    """A patchtst forecast of 8 hourly days (no global fit yet) is served by tsad-base;
    4 days and a 5-minute series still go to stats; all are marked degraded."""
    settings = ModelSettings(model_dir=str(tmp_path / "fresh"))
    week = daily(8)
    out = forecast_job(settings, "patchtst", week.ts, week.y, None, 24, [95])
    assert out.report.model_used == NAME and out.report.degraded and out.report.reason
    assert len(out.band) == 24 and np.all(np.isfinite(out.band.hi[95]))
    few = daily(4)
    out = forecast_job(settings, "patchtst", few.ts, few.y, None, 24, [95])
    assert out.report.model_used.startswith("stats") and out.report.degraded
    five_min = Series(week.ts[0] + (week.ts - week.ts[0]) // 12, week.y)
    out = forecast_job(settings, "nhits", five_min.ts, five_min.y, None, 24, [95])
    assert out.report.model_used.startswith("stats") and out.report.degraded


def test_served_bands_are_the_raw_quantiles_widened_by_the_history_factor() -> None:
    """A 2-day history's band is the raw one scaled about the median by widen_factor(2)."""
    s = daily(2)
    raw = BaseModelForecaster(calibrated=False).forecast(s, HOUR, 24, [95]).band
    served = BaseModelForecaster().forecast(s, HOUR, 24, [95]).band
    np.testing.assert_allclose(served.mean, raw.mean)
    np.testing.assert_allclose(
        served.hi[95] - served.mean, widen_factor(2) * (raw.hi[95] - raw.mean), rtol=1e-9
    )
    assert widen_factor(2) > 1.5


def test_insample_bands_start_after_two_seasons() -> None:
    """Batch-detection bands are NaN for the first 48 points, finite after."""
    band = BaseModelForecaster().insample(daily(4), HOUR, [95]).band
    assert np.all(np.isnan(band.mean[:48])) and np.all(np.isfinite(band.mean[48:]))


def test_weights_ship_as_package_data() -> None:
    """pyproject's package-data names the weights, their spec and the licence note."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["tsad.models"]
    for path in ("LICENSE-weights.md", f"patchtst/{NAME}.json", f"patchtst/{NAME}.safetensors"):
        assert (bundled_dir() / path).exists()
        assert any(Path(path).match(p.removeprefix("pretrained/")) for p in patterns)


def test_a_model_loaded_from_disk_predicts_through_the_traced_graph() -> None:
    """A module never attached to a Trainer (loaded from safetensors) still gets traced."""
    BaseModelForecaster().forecast(daily(3), HOUR, 24, [95])
    _, module = load_bundled()
    assert module.__dict__.get("_tsad_graph") is not None
