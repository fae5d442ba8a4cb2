"""The statistical forecaster's band widening: in-sample, then out of sample on a holdout."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tsad.models.stats import StatsForecaster
from tsad.series import FloatArray, Series, level_label

HOUR = 3_600_000


class _UnitBandModel(StatsForecaster):
    """A model forecasting 0 with a ±1 band at every level, in and out of sample."""

    def _fit(
        self, y: FloatArray, step_ms: int, h: int, levels: Sequence[float]
    ) -> tuple[str, dict[str, FloatArray]]:
        n = y.shape[0]
        out: dict[str, FloatArray] = {"mean": np.zeros(h), "fitted": np.zeros(n)}
        for level in levels:
            lab = level_label(level)
            out[f"lo-{lab}"], out[f"hi-{lab}"] = -np.ones(h), np.ones(h)
            out[f"fitted-lo-{lab}"], out[f"fitted-hi-{lab}"] = -np.ones(n), np.ones(n)
        return "MSTL", out


def test_one_under_coverage_is_corrected_once_not_twice() -> None:
    """Errors twice the band, in sample and on the holdout alike, widen the band 2x, not 4x."""
    y = np.where(np.arange(24 * 14) % 2 == 0, 2.0, -2.0)
    ts = np.arange(y.shape[0], dtype=np.int64) * HOUR
    band = _UnitBandModel().forecast(Series(ts, y), HOUR, 48, [95.0]).band
    assert np.allclose(band.hi[95.0], 2.0) and np.allclose(band.lo[95.0], -2.0)


class _GrowingBandModel(StatsForecaster):
    """Forecasts 0 with a band growing as √lead; in sample it fits every point exactly."""

    def _fit(
        self, y: FloatArray, step_ms: int, h: int, levels: Sequence[float]
    ) -> tuple[str, dict[str, FloatArray]]:
        grow = np.sqrt(np.arange(1, h + 1, dtype=np.float64))
        out: dict[str, FloatArray] = {"mean": np.zeros(h), "fitted": y.copy()}
        for level in levels:
            lab = level_label(level)
            out[f"lo-{lab}"], out[f"hi-{lab}"] = -grow, grow
            out[f"fitted-lo-{lab}"], out[f"fitted-hi-{lab}"] = y - 1, y + 1
        return "MSTL", out


def test_a_band_growing_faster_than_its_holdout_errors_is_raised_at_the_first_leads() -> None:
    """Holdout errors flat at 3 against a √lead band: lead 1 covers 3; late leads keep theirs."""
    y = np.where(np.arange(24 * 14) % 2 == 0, 3.0, -3.0)
    ts = np.arange(y.shape[0], dtype=np.int64) * HOUR
    model = _GrowingBandModel()
    band = model.forecast(Series(ts, y), HOUR, 48, [95.0]).band
    assert band.hi[95.0][0] >= 3.0 and band.lo[95.0][0] <= -3.0
    # the holdout factor alone (q95 of 3/√lead over 24 leads) widens √lead by less than 3
    factor = float(np.quantile(3.0 / np.sqrt(np.arange(1, 25)), 0.95))
    assert factor < 3.0
    # lead 16 (the last leads reach past the series' range + one range: clipped there)
    assert np.allclose(band.hi[95.0][15], factor * np.sqrt(16.0))
