"""Calibration is one stage over every model's band: one level → quantile map,
in-sample bands widened (never narrowed) to cover the level, bands kept in range."""

from __future__ import annotations

import numpy as np

from tests.fixtures.toy_backend import ToyForecaster
from tsad.detect import calibrate
from tsad.series import Band, Series
from tsad.settings import ModelSettings

HOUR = 3_600_000


def _band(mean: np.ndarray, half: float, level: float = 95.0) -> Band:
    ts = np.arange(mean.shape[0], dtype=np.int64) * HOUR
    return Band(ts, mean, {level: mean - half}, {level: mean + half})


def test_level_quantile_is_the_two_sided_normal_quantile() -> None:
    """95 → 1.960, 99 → 2.576, 80 → 1.282."""
    got = [round(calibrate.level_quantile(lv), 3) for lv in (95.0, 99.0, 80.0)]
    assert got == [1.96, 2.576, 1.282]


def test_an_under_covering_band_is_widened_to_its_level() -> None:
    """Residuals of scale 1 against a ±0.5 band: widened until 95% of them are inside."""
    rng = np.random.default_rng(0)
    y = rng.normal(size=400)
    band = calibrate.calibrate_insample(_band(np.zeros(400), 0.5), y)
    inside = np.mean((y >= band.lo[95.0]) & (y <= band.hi[95.0]))
    assert 0.95 <= inside <= 0.96


def test_a_wide_band_is_never_narrowed() -> None:
    """A band already covering everything keeps its width."""
    y = np.random.default_rng(1).normal(size=200)
    band = calibrate.calibrate_insample(_band(np.zeros(200), 10.0), y)
    assert np.allclose(band.hi[95.0], 10.0) and np.allclose(band.lo[95.0], -10.0)


def test_levels_stay_nested_after_calibration() -> None:
    """The 99% band contains the 80% band even when only the inner one was widened."""
    y = np.random.default_rng(2).normal(size=300)
    mean = np.zeros(300)
    ts = np.arange(300, dtype=np.int64) * HOUR
    raw = Band(ts, mean, {80.0: mean - 0.1, 99.0: mean - 0.2}, {80.0: mean + 0.1, 99.0: mean + 0.2})
    band = calibrate.calibrate_insample(raw, y)
    assert np.all(band.lo[99.0] <= band.lo[80.0]) and np.all(band.hi[99.0] >= band.hi[80.0])


def test_a_non_negative_series_gets_no_band_below_zero() -> None:
    """clip_to_range lifts lo to 0 for a series never below 0, and leaves others alone."""
    band = _band(np.full(5, 0.2), 1.0)
    assert calibrate.clip_to_range(band, np.array([0.0, 1.0, 2.0])).lo[95.0].min() == 0.0
    assert calibrate.clip_to_range(band, np.array([-1.0, 1.0])).lo[95.0].min() < 0.0


def test_a_band_never_reaches_past_the_series_range_beyond_its_extremes() -> None:
    """A short-history trend model's band, two days ahead on a 0–60 series, stays within
    one range of what the series showed (not thousands of times it); a constant history
    keeps its band."""
    from tsad.models.stats import StatsForecaster

    y = 30 + 30 * np.sin(np.arange(300) / 9.0) * np.linspace(0.2, 1.0, 300)
    span = float(np.ptp(y))
    exploding = _band(np.full(576, 40.0), 1.0)
    exploding = Band(
        exploding.ts,
        exploding.mean,
        {95.0: 40.0 - np.geomspace(1.0, 1e6, 576)},
        {95.0: 40.0 + np.geomspace(1.0, 1e6, 576)},
    )
    capped = calibrate.clip_to_range(exploding, y)
    assert float(np.max(capped.hi[95.0])) == float(np.max(y)) + span
    assert float(np.min(capped.lo[95.0])) == max(float(np.min(y)) - span, 0.0)
    history = Series(np.arange(300, dtype=np.int64) * 300_000, y)
    band = calibrate.forecast(StatsForecaster(), history, 300_000, 576, [99.0]).band
    assert float(np.max(band.hi[99.0])) <= float(np.max(y)) + span
    flat = _band(np.full(5, 20.0), 1.0)
    kept = calibrate.clip_to_range(flat, np.full(4, 20.0))
    assert np.allclose(kept.lo[95.0], 19.0) and np.allclose(kept.hi[95.0], 21.0)


def test_any_model_gets_the_stage() -> None:
    """A backend knowing nothing of calibration (the toy fixture, ±MAD-based band)
    comes out of calibrate.insample covering its level, and in range."""
    rng = np.random.default_rng(3)
    y = np.abs(rng.standard_t(3, size=500)) * 5
    history = Series(np.arange(500, dtype=np.int64) * HOUR, y)
    toy = ToyForecaster(ModelSettings())
    raw = toy.insample(history, HOUR, [99.0]).band
    band = calibrate.insample(toy, history, HOUR, [99.0]).band
    inside = np.mean((y >= band.lo[99.0]) & (y <= band.hi[99.0]))
    assert np.mean((y >= raw.lo[99.0]) & (y <= raw.hi[99.0])) < 0.99 <= inside
    assert band.lo[99.0].min() >= 0.0
