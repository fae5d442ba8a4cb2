"""Quantile grid → band arithmetic and model specs of the neural forecasters (numpy only)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import ndtri

from tsad.models.neural_fast import band_from_quantiles, nan_band
from tsad.models.neural_spec import make_spec

PROBS = np.array([0.005, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975, 0.995])


def _normal_grid(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    return mu[:, None] + sigma[:, None] * ndtri(PROBS)[None, :]


def test_grid_levels_are_read_exactly() -> None:
    """A level on the trained grid returns that grid's quantiles; mean is the median."""
    mu, sigma = np.array([10.0, -3.0]), np.array([2.0, 0.5])
    band = band_from_quantiles(np.arange(2), PROBS, _normal_grid(mu, sigma), [80, 95])
    np.testing.assert_allclose(band.mean, mu)
    np.testing.assert_allclose(band.hi[95], mu + sigma * ndtri(0.975))
    np.testing.assert_allclose(band.lo[80], mu - sigma * ndtri(0.9))


def test_levels_between_and_beyond_the_grid_follow_a_normal_grid() -> None:
    """Off-grid levels (85, 99.9) are recovered exactly when the grid is normal."""
    mu, sigma = np.array([5.0]), np.array([3.0])
    band = band_from_quantiles(np.arange(1), PROBS, _normal_grid(mu, sigma), [85, 99.9])
    np.testing.assert_allclose(band.hi[85], mu + sigma * ndtri(0.925))
    np.testing.assert_allclose(band.lo[99.9], mu - sigma * ndtri(0.9995))


def test_bands_are_ordered_and_nested() -> None:
    """lo ≤ mean ≤ hi for every level, and wider levels contain narrower ones."""
    rng = np.random.default_rng(3)
    q = np.sort(rng.normal(size=(50, PROBS.size)) * 4, axis=1)
    levels = [50.0, 80.0, 95.0, 99.0, 99.9]
    band = band_from_quantiles(np.arange(50), PROBS, q, levels)
    for level in levels:
        assert np.all(band.lo[level] <= band.mean) and np.all(band.mean <= band.hi[level])
    for inner, outer in itertools.pairwise(levels):
        assert np.all(band.lo[outer] <= band.lo[inner]) and np.all(band.hi[outer] >= band.hi[inner])


def test_nan_band_has_every_level() -> None:
    """Points without a forecast get NaN mean/lo/hi for each requested level."""
    band = nan_band(np.arange(3, dtype=np.int64), [95, 99])
    assert set(band.columns()) == {"mean", "lo-95", "hi-95", "lo-99", "hi-99"}
    assert all(np.isnan(col).all() for col in band.columns().values())


def test_spec_horizon_rounds_up_and_input_follows_the_season() -> None:
    """Hourly data: four days of NHITS input, fourteen of PatchTST; short horizons share
    the one-season model."""
    hour = 3_600_000
    spec = make_spec("nhits", hour, 6)
    assert (spec.input_size, spec.h) == (96, 24)
    assert make_spec("patchtst", hour, 48).h == 48
    assert make_spec("patchtst", hour).input_size == 14 * 24
    assert make_spec("nhits", 300_000).input_size == 512  # 5-min: capped


def test_serving_digest_ignores_training_length() -> None:
    """Models trained longer still serve the same requests; other horizons do not."""
    hour = 3_600_000
    short, long = make_spec("nhits", hour, max_steps=10), make_spec("nhits", hour, max_steps=900)
    assert short.digest != long.digest
    assert short.serving_digest == long.serving_digest
    assert make_spec("nhits", hour, 48).serving_digest != short.serving_digest


def test_unknown_kind_is_rejected() -> None:
    """Only nhits and patchtst have specs."""
    with pytest.raises(ValueError, match="unknown neural model"):
        make_spec("lstm", 60_000)
