"""Change-point detection (``tsad.detect.changepoints``): offline segmentation with
ruptures, the online rule, and the confidence per point."""

from __future__ import annotations

import numpy as np
import pytest

from tsad.detect.changepoints import changepoint_job, detect_changepoints
from tsad.errors import InvalidInput

STEP = 300_000  # 5 min


def seasonal(n: int, seed: int, shift_at: int | None = None, shift: float = 8.0) -> np.ndarray:
    """5-min values with a daily cycle and noise; optionally a level shift."""
    rng = np.random.default_rng(seed)
    y = 50 + 10 * np.sin(2 * np.pi * np.arange(n) / 288) + rng.normal(0, 1.0, n)
    if shift_at is not None:
        y[shift_at:] += shift
    return y


def stamps(n: int) -> np.ndarray:
    return (1_700_000_000_000 + np.arange(n) * STEP).astype(np.int64)


@pytest.mark.parametrize("mode", ["batch", "online"])
def test_a_level_shift_is_found_where_it_happens(mode: str) -> None:
    """A shift of 8 σ in a seasonal series is one change point within a few points of it."""
    n, at = 2016, 1300
    res = detect_changepoints(stamps(n), seasonal(n, 1, at), period=288, mode=mode)
    found = res.indices
    assert found.size >= 1
    assert np.min(np.abs(found - at)) <= 3
    assert res.confidence[found].min() >= res.threshold


@pytest.mark.parametrize("mode", ["batch", "online"])
def test_noise_alone_raises_no_change_point(mode: str) -> None:
    """A stationary seasonal series: no change point, and low confidence almost everywhere."""
    n = 2016
    res = detect_changepoints(stamps(n), seasonal(n, 2), period=288, mode=mode)
    assert res.indices.size == 0
    assert np.quantile(res.confidence, 0.99) < 0.5


def test_confidence_is_a_probability_for_every_point() -> None:
    """confidence lies in [0, 1] for every input point, and peaks at the shift."""
    n, at = 1000, 600
    res = detect_changepoints(stamps(n), seasonal(n, 3, at), period=288)
    assert res.confidence.shape == (n,)
    assert ((res.confidence >= 0) & (res.confidence <= 1)).all()
    assert abs(int(np.argmax(res.confidence)) - at) <= 3


def test_online_answers_are_final_after_two_windows() -> None:
    """Online: appending points never changes the answer for points 2·window before the end."""
    n, at, w = 2000, 1500, 10
    y = seasonal(n, 4, at)
    full = detect_changepoints(stamps(n), y, period=288, window=w, mode="online")
    cut = 1700
    part = detect_changepoints(stamps(cut), y[:cut], period=288, window=w, mode="online")
    final = cut - 2 * w
    # the noise scale is the whole prefix's: the same flags, confidences up to its estimate
    assert (part.is_change_point[:final] == full.is_change_point[:final]).all()
    assert part.pending == 2 * w


def test_a_spike_burst_is_not_a_level_shift() -> None:
    """Isolated spikes move segment means but not medians: no change point in batch mode."""
    n = 2016
    y = seasonal(n, 5)
    y[[700, 703, 706, 1200, 1204]] += 40
    res = detect_changepoints(stamps(n), y, period=288, mode="batch")
    assert res.indices.size == 0


def test_the_job_cleans_the_input_and_answers_for_its_points() -> None:
    """Unsorted input with a gap: one answer per distinct input point, the shift found."""
    n, at = 1500, 900
    ts, y = stamps(n), seasonal(n, 6, at)
    keep = np.r_[0:400, 420:n]  # a 20-point gap, filled on the grid
    order = np.random.default_rng(0).permutation(keep.size)
    out = changepoint_job(12, ts[keep][order], y[keep][order], None, None, 10, 0.99, "batch")
    assert out.unsorted and out.filled == 20
    assert out.result.ts.shape[0] == keep.size
    assert np.all(np.diff(out.result.ts) > 0)
    hit = out.result.ts[out.result.indices]
    assert np.min(np.abs(hit - ts[at])) <= 3 * STEP


@pytest.mark.parametrize(
    ("window", "threshold", "needle"),
    [(2, 0.99, "window"), (600, 0.99, "half"), (10, 1.0, "threshold")],
)
def test_bad_parameters_are_refused(window: int, threshold: float, needle: str) -> None:
    """window below 3 or above half the series, threshold outside (0, 1): InvalidInput."""
    with pytest.raises(InvalidInput, match=needle):
        detect_changepoints(
            stamps(1000), seasonal(1000, 7), period=288, window=window, threshold=threshold
        )
