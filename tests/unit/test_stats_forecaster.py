"""The statistical forecaster and the batch/online detectors built on it."""

from __future__ import annotations

import numpy as np
import pytest

from tsad.detect.batch import detect_batch
from tsad.detect.online import StoredBand, detect_online, score_arrivals
from tsad.detect.residual_score import ScorerState
from tsad.errors import NotEnoughPoints
from tsad.models.stats import StatsForecaster
from tsad.prepare import prepare
from tsad.series import Series

HOUR = 3_600_000


def seasonal(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 100 + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, n)
    return (1_700_000_000_000 + t * HOUR).astype(np.int64), y


def test_forecast_has_every_requested_level_and_ordered_bands() -> None:
    """A seasonal series gets MSTL with lo ≤ mean ≤ hi and nested 80/95 bands."""
    ts, y = seasonal(24 * 14)
    fc = StatsForecaster().forecast(Series(ts, y), HOUR, 24, [80.0, 95.0])
    b = fc.band
    assert fc.model_used == "stats:MSTL"
    assert set(b.columns()) == {"mean", "lo-80", "hi-80", "lo-95", "hi-95"}
    assert np.all(b.lo[95.0] <= b.lo[80.0]) and np.all(b.lo[80.0] <= b.mean)
    assert np.all(b.mean <= b.hi[80.0]) and np.all(b.hi[80.0] <= b.hi[95.0])
    assert b.ts[0] == ts[-1] + HOUR and len(b) == 24
    # the forecast follows the daily cycle
    expected = 100 + 10 * np.sin(2 * np.pi * np.arange(24 * 14, 24 * 15) / 24)
    assert np.max(np.abs(b.mean - expected)) < 3.0


def test_short_series_gets_a_simpler_model_not_an_error() -> None:
    """Fewer than two seasons of points: AutoETS runs and says so."""
    ts, y = seasonal(30)
    fc = StatsForecaster().forecast(Series(ts, y), HOUR, 5, [95.0])
    assert fc.model_used == "stats:AutoETS"
    assert np.all(np.isfinite(fc.band.mean))


def test_too_few_points_names_the_minimum() -> None:
    """Below the minimum the error says how many points are needed."""
    ts, y = seasonal(5)
    with pytest.raises(NotEnoughPoints) as err:
        StatsForecaster().forecast(Series(ts, y), HOUR, 5, [95.0])
    assert err.value.needed == 12 and err.value.got == 5


def test_constant_series_forecasts_the_constant() -> None:
    """A flat series gives a flat forecast instead of a model error."""
    ts = (np.arange(50) * HOUR).astype(np.int64)
    fc = StatsForecaster().forecast(Series(ts, np.full(50, 7.0)), HOUR, 3, [95.0])
    assert fc.band.mean.tolist() == [7.0, 7.0, 7.0]


def test_batch_detect_flags_an_injected_spike() -> None:
    """A spike of 15 sigma in a seasonal series is flagged upward, and nothing else is."""
    ts, y = seasonal(24 * 14)
    y[200] += 15
    flagged, model = detect_batch(prepare(ts, y), StatsForecaster(), 99.0)
    scored = flagged.scored
    assert model == "stats:MSTL"
    assert np.flatnonzero(scored.is_anomaly).tolist() == [200] and scored.direction[200] == 1


def test_online_detect_is_prefix_stable() -> None:
    """A point's online result does not change when later points are added."""
    ts, y = seasonal(24 * 8, seed=3)
    y[150] -= 12
    f = StatsForecaster()
    full = detect_online(prepare(ts, y), f, 99.0)[0].scored
    part = detect_online(prepare(ts[:170], y[:170]), f, 99.0)[0].scored
    np.testing.assert_array_equal(full.score[:170], part.score)
    np.testing.assert_array_equal(full.is_anomaly[:170], part.is_anomaly)
    assert full.is_anomaly[150] and full.direction[150] == -1
    # points before the first fit have no band
    assert np.isnan(full.expected[:12]).all() and np.isfinite(full.expected[12:]).all()


def test_online_detect_never_interpolates_across_the_future() -> None:
    """With a gap, an online result depends only on points before it."""
    ts, y = seasonal(24 * 6, seed=4)
    keep = np.ones(ts.shape[0], bool)
    keep[60:70] = False  # a gap
    ts, y = ts[keep], y[keep]
    f = StatsForecaster()
    full = detect_online(prepare(ts, y), f, 99.0)[0].scored
    part = detect_online(prepare(ts[:65], y[:65]), f, 99.0)[0].scored
    np.testing.assert_array_equal(full.score[:65], part.score)


def test_hot_path_scores_against_the_stored_band_and_asks_for_refits() -> None:
    """Arrivals inside the band are scored; past half of it a refit is due."""
    band = StoredBand(
        start=1000,
        step_ms=10,
        level=99.0,
        mean=np.zeros(10),
        lo=np.full(10, -1.0),
        hi=np.full(10, 1.0),
        model_used="stats:MSTL",
        fitted_at=1,
        history_last=990,
    )
    warm = ScorerState(season=1, n=10_000)
    flagged, due = score_arrivals(band, np.array([1000, 1010]), np.array([0.5, 3.0]), warm)
    assert flagged is not None and flagged.scored.is_anomaly.tolist() == [False, True]
    assert not due and flagged.state.n == 10_002
    flagged, due = score_arrivals(band, np.array([1060]), np.array([0.0]), flagged.state)
    assert due and flagged is not None and not flagged.scored.is_anomaly[0]
    flagged, due = score_arrivals(band, np.array([5000]), np.array([99.0]), flagged.state)
    assert due and flagged is not None
    assert np.isnan(flagged.scored.expected[0]) and not flagged.scored.is_anomaly[0]
    assert score_arrivals(None, np.array([1000]), np.array([1.0])) == (None, True)
    restored = StoredBand.from_state(band.to_state())
    assert restored.end == band.end == 1090
    np.testing.assert_array_equal(restored.hi, band.hi)


def test_a_new_series_raises_no_flag_in_its_warm_up() -> None:
    """With no scorer history (a series just started), a spike is damped, not flagged."""
    band = StoredBand(
        start=1000,
        step_ms=10,
        level=99.0,
        mean=np.zeros(10),
        lo=np.full(10, -1.0),
        hi=np.full(10, 1.0),
        model_used="stats:MSTL",
        fitted_at=1,
        history_last=990,
    )
    flagged, _ = score_arrivals(band, np.array([1000]), np.array([50.0]))
    assert flagged is not None and not flagged.scored.is_anomaly.any()
    assert not flagged.state.warm


def test_online_score_ranks_the_spike_first_and_stays_prefix_stable() -> None:
    """The spike outranks every point after warm-up, is the one flag; prefixes agree."""
    ts, y = seasonal(24 * 8, seed=5)
    y[160] += 12
    f = StatsForecaster()
    full = detect_online(prepare(ts, y), f, 99.0)[0].scored
    part = detect_online(prepare(ts[:170], y[:170]), f, 99.0)[0].scored
    np.testing.assert_array_equal(full.score[:170], part.score)
    assert int(np.argmax(full.score)) == 160 and 0.5 < full.score[160] < 1.0
    assert np.flatnonzero(full.is_anomaly).tolist() == [160]


def test_a_falling_series_is_not_forecast_below_its_lowest_value() -> None:
    """A steady decline would be extrapolated under the history; the forecast stops at
    its minimum and the band moves up with it, keeping its width."""
    t = np.arange(24 * 10)
    y = 500.0 - 2.0 * t + 5 * np.sin(2 * np.pi * t / 24)
    ts = (1_700_000_000_000 + t * HOUR).astype(np.int64)
    band = StatsForecaster().forecast(Series(ts, y), HOUR, 48, [95.0]).band
    assert band.mean.min() >= y.min() - 1e-9
    assert np.all(band.lo[95.0] <= band.mean) and np.all(band.mean <= band.hi[95.0])


def test_floor_band_lifts_only_the_points_below_the_floor() -> None:
    """floor_band shifts mean, lo and hi together where the mean is under the floor."""
    from tsad.models.stats import floor_band
    from tsad.series import Band

    band = Band(
        np.arange(3, dtype=np.int64),
        np.array([10.0, 4.0, 6.0]),
        {95.0: np.array([8.0, 1.0, 5.0])},
        {95.0: np.array([12.0, 6.0, 7.0])},
    )
    out = floor_band(band, 5.0)
    np.testing.assert_allclose(out.mean, [10.0, 5.0, 6.0])
    np.testing.assert_allclose(out.lo[95.0], [8.0, 2.0, 5.0])
    np.testing.assert_allclose(out.hi[95.0], [12.0, 7.0, 7.0])
    assert floor_band(band, 0.0) is band
