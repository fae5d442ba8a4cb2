"""The hot path's plain-Python display band agrees with the vectorised one."""

from __future__ import annotations

import numpy as np
import pytest

from tsad.detect import flags


def _inputs(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    n = int(rng.integers(1, 9))
    y = rng.normal(0, 5, n)
    mean = rng.normal(0, 1, n)
    sigma = rng.uniform(0, 2, n)
    record = rng.uniform(0.5, 4, n)
    score = rng.uniform(0, 1, n)
    if rng.random() < 0.3:  # a point past the stored band: no band, never flagged
        i = rng.integers(0, n)
        mean[i] = sigma[i] = record[i] = np.nan
        score[i] = 0.0
    if rng.random() < 0.2:
        sigma[:] = 0.0  # a zero-width band
    if rng.random() < 0.2:
        y[0] = mean[0]  # a point exactly on the expected value
    return y, mean, sigma, record, score


@pytest.mark.parametrize("seed", range(5))
def test_small_path_matches_vector_path(seed: int) -> None:
    """Band, severity and direction from ``_small_display`` equal ``display_band``'s,
    NaN bands, zero widths and the lower bound included."""
    rng = np.random.default_rng(seed)
    for _ in range(400):
        y, mean, sigma, record, score = _inputs(rng)
        is_anomaly = score >= 0.7
        margin = float(rng.uniform(1, 3))
        lower = 0.0 if rng.random() < 0.5 else None
        spread = sigma * record
        small = flags._small_display(y, mean, spread, is_anomaly, margin, lower)
        vector = flags.display_band(y, mean, spread, is_anomaly, margin, lower)
        for name, a, b in zip(("lo", "hi", "severity", "direction"), small, vector, strict=True):
            np.testing.assert_array_equal(a, b, name)
            assert a.dtype == b.dtype, name
