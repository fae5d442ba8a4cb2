"""What users see of the flags: one spike one flag (no seasonal ghosts), a level shift
flagged where it starts with the band re-anchored, bands that stay non-negative, and
`is_anomaly == (score >= threshold)` whatever the input."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tsad.detect.batch import detect_batch
from tsad.detect.flags import flag_stream
from tsad.detect.online import detect_online
from tsad.detect.robust import align_level_shift, outliers, robust_history
from tsad.detect.threshold import capped_threshold, threshold_for
from tsad.models.stats import StatsForecaster
from tsad.prepare import prepare
from tsad.series import Series

FIVE_MIN = 300_000
HOUR = 3_600_000
T0 = 1_700_000_000_000


def sine_5min(days: int, seed: int = 0, noise: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """A daily 5-minute sine with a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(days * 288)
    y = 100 + 50 * np.sin(2 * np.pi * t / 288) + rng.normal(0, noise, t.shape[0])
    return (T0 + t * FIVE_MIN).astype(np.int64), y


def test_one_spike_gives_exactly_one_flag_in_batch_and_online() -> None:
    """A +300 spike in a clean week of 5-minute data: exactly one flag, both modes."""
    ts, y = sine_5min(7, noise=0.0)
    y[1500] += 300.0
    p = prepare(ts, y)
    batch = detect_batch(p, StatsForecaster(), 99.0)[0].scored
    online = detect_online(p, StatsForecaster(), 99.0)[0].scored
    assert np.flatnonzero(batch.is_anomaly).tolist() == [1500]
    assert np.flatnonzero(online.is_anomaly).tolist() == [1500]
    assert batch.direction[1500] == online.direction[1500] == 1


def test_a_spike_in_noise_leaves_no_seasonal_ghost() -> None:
    """With noise, the spike is flagged and nothing near its time of day on other days."""
    ts, y = sine_5min(7)
    y[1500] += 300.0
    p = prepare(ts, y)
    for flagged, _ in (
        detect_batch(p, StatsForecaster(), 99.0),
        detect_online(p, StatsForecaster(), 99.0),
    ):
        flags = np.flatnonzero(flagged.scored.is_anomaly)
        assert 1500 in flags
        ghosts = [i for i in flags if i != 1500 and min((i - 1500) % 288, (1500 - i) % 288) <= 3]
        assert ghosts == []
        # noise alone breaks a record by the default margin about once in 1,000 points
        assert flags.size <= 4


def test_the_refit_does_not_learn_the_spike() -> None:
    """The cleaned history has the spike replaced by what the other days show there."""
    _ts, y = sine_5min(5)
    y[700] += 300.0
    mask, clean = outliers(y, 288)
    assert np.flatnonzero(mask).tolist() == [700]
    assert abs(clean[700] - (y[700] - 300.0)) < 10.0


def test_only_points_far_off_their_seasons_are_cleaned() -> None:
    """A bump of 6 noise σ is the series' own and stays; one of 40 σ is replaced."""
    _ts, y = sine_5min(5)
    y[700] += 12.0  # noise σ is 2
    y[1000] += 80.0
    mask, clean = outliers(y, 288)
    assert np.flatnonzero(mask).tolist() == [1000]
    assert clean[700] == y[700]


def test_a_level_shift_is_flagged_at_its_start_and_the_band_re_anchors() -> None:
    """+40 from day 9 of an hourly series, replayed at the service's refit cadence: a
    flag within 2 points of the shift, and from 1.5 seasons on the band is typically
    (median) at most twice its width before and never three times it."""
    rng = np.random.default_rng(1)
    t = np.arange(24 * 14)
    y = 100 + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, t.shape[0])
    shift = 24 * 9
    y[shift:] += 40.0
    s = detect_online(prepare((T0 + t * HOUR).astype(np.int64), y), StatsForecaster(), 99.0)[0]
    flags = np.flatnonzero(s.scored.is_anomaly)
    assert flags.size and shift <= flags[0] <= shift + 2
    width = s.scored.hi - s.scored.lo
    before = float(np.nanmedian(width[24 * 7 : shift]))
    after = width[shift + 36 : shift + 96]
    assert float(np.median(after)) <= 2 * before
    assert np.all(after <= 3 * before)


def test_a_trend_is_not_mistaken_for_a_level_shift() -> None:
    """A steady ramp is left alone; an abrupt step is aligned."""
    ramp = np.linspace(0, 100, 500) + np.random.default_rng(0).normal(0, 1, 500)
    assert align_level_shift(ramp, 1)[1] is False
    step = ramp.copy()
    step[300:] += 200
    aligned, shifted = align_level_shift(step, 1)
    assert shifted and abs(aligned[299] - (step[299] + 200)) < 5


def test_an_excursion_that_returned_is_not_aligned_as_a_level_shift() -> None:
    """A jump that has come back (a long anomaly) leaves the history before it alone."""
    t = np.arange(288 * 12)
    rng = np.random.default_rng(3)
    daily = 20 + 60 * ((t % 288) < 110) + rng.normal(0, 2, t.shape[0])
    excursion = daily.copy()
    excursion[288 * 10 : 288 * 10 + 110] += 70  # a day's high period far higher, then back
    aligned, shifted = align_level_shift(excursion[: 288 * 11 + 190], 288)
    assert shifted is False
    assert np.array_equal(aligned, excursion[: 288 * 11 + 190])
    lasting = daily.copy()
    lasting[288 * 10 :] += 70
    assert align_level_shift(lasting, 288)[1] is True


def test_a_weekend_is_not_aligned_as_a_level_shift() -> None:
    """Hourly data whose weekends have their own daily shape: the history ending on a
    Sunday is not moved by a "shift" (the weekly season is taken out first)."""
    rng = np.random.default_rng(0)
    t = np.arange(24 * (21 + 6) + 18)  # three weeks and a Sunday afternoon
    hour, day = t % 24, (t // 24) % 7
    weekday = 100 + 80 * np.sin(2 * np.pi * (hour - 6) / 24)
    weekend = 100 + 60 * np.sin(2 * np.pi * (hour + 3) / 24)  # busy nights, quiet mornings
    y = np.where(day >= 5, weekend, weekday) + rng.normal(0, 2, t.shape[0])
    clean = robust_history(Series((T0 + t * HOUR).astype(np.int64), y), HOUR)
    assert float(np.median(np.abs(clean.y - y))) == 0.0


def test_a_count_never_gets_a_negative_band() -> None:
    """A series that never goes below zero: lo ≥ 0 in forecasts, batch and online."""
    rng = np.random.default_rng(2)
    t = np.arange(24 * 10)
    y = np.maximum(0.0, 3 + 3 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1.5, t.shape[0]))
    ts = (T0 + t * HOUR).astype(np.int64)
    fc = StatsForecaster().forecast(Series(ts, y), HOUR, 48, [80.0, 99.0])
    assert all(np.all(lo >= 0) for lo in fc.band.lo.values())
    p = prepare(ts, y)
    for flagged, _ in (
        detect_batch(p, StatsForecaster(), 99.0),
        detect_online(p, StatsForecaster(), 99.0),
    ):
        lo = flagged.scored.lo
        assert np.all(lo[np.isfinite(lo)] >= 0)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 120),
    seed=st.integers(0, 10_000),
    sensitivity=st.floats(0, 99.9),
    ratio=st.one_of(st.none(), st.floats(0.001, 0.5)),
)
def test_flags_are_exactly_the_points_at_or_above_the_threshold(
    n: int, seed: int, sensitivity: float, ratio: float | None
) -> None:
    """Whatever the stream, sensitivity and cap: is_anomaly == (score >= threshold)."""
    rng = np.random.default_rng(seed)
    y = rng.standard_t(2, n) * 5
    mean = np.where(rng.random(n) < 0.1, np.nan, 0.0)
    half = rng.uniform(0.0, 4.0, n)
    f = flag_stream(
        np.arange(n, dtype=np.int64),
        y,
        mean,
        mean - half,
        mean + half,
        99.0,
        None,
        season=1,
        sensitivity=sensitivity,
        max_anomaly_ratio=ratio,
    )
    s = f.scored
    assert np.array_equal(s.is_anomaly, s.score >= f.threshold)
    assert f.threshold >= threshold_for(sensitivity)
    assert np.all((s.score >= 0) & (s.score < 1))
    if ratio is not None:
        assert int(s.is_anomaly.sum()) <= max(1, math.ceil(ratio * n))


def test_the_cap_never_exceeds_its_share_even_with_ties() -> None:
    """Tied scores at the cut are all left out rather than exceeding the cap."""
    score = np.array([0.9, 0.9, 0.9, 0.1])
    t = capped_threshold(score, 0.5, 0.25)  # at most one of four
    assert int((score >= t).sum()) <= 1
