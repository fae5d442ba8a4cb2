"""The causal record score: prefix-stable, self-calibrating, quiet in warm-up, one alert
per incident, and resumable from its stored state (the hot path)."""

from __future__ import annotations

import math

import numpy as np

from tsad.detect.residual_score import (
    ALARM_LOG_ODDS,
    DAMP,
    REFIRE_MARGIN,
    ScorerState,
    insample_reference,
    residual_scores,
    seasonal_reference,
    warmup_points,
)


def _noise(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, n), np.zeros(n), np.ones(n)


def _scores(y: np.ndarray, mean: np.ndarray, sigma: np.ndarray, **kw: object) -> np.ndarray:
    return residual_scores(y, mean, sigma, **kw)[0]  # type: ignore[arg-type]


def test_scores_are_prefix_stable() -> None:
    """A point's score never changes when later points are added."""
    y, mean, sigma = _noise(500)
    full = _scores(y, mean, sigma)
    assert np.array_equal(full[:321], _scores(y[:321], mean[:321], sigma[:321]))


def test_warmup_points_never_score_high() -> None:
    """During the warm-up even a huge spike stays far below any threshold."""
    y, mean, sigma = _noise(200)
    y[10] = 50.0
    assert _scores(y, mean, sigma)[: warmup_points(1)].max() <= DAMP


def test_warmup_is_two_seasons_when_the_series_has_one() -> None:
    """The warm-up rule: two seasons, at least 48 points, at most 576."""
    assert warmup_points(288) == 576 and warmup_points(24) == 48 and warmup_points(1) == 48
    assert warmup_points(1440) == 576  # minute data: capped


def test_a_record_residual_tops_the_ranking_without_saturating() -> None:
    """A residual far past any seen before ranks first, below 1.0."""
    y, mean, sigma = _noise(600)
    y[400] = 12.0
    s = _scores(y, mean, sigma)
    assert int(np.argmax(s)) == 400
    assert 0.5 < s[400] < 1.0


def test_scale_free_across_series() -> None:
    """Multiplying a series (and its band) by a constant leaves its scores unchanged."""
    y, mean, sigma = _noise(400, seed=3)
    y[300] = 7.0
    a = _scores(y, mean, sigma)
    b = _scores(1000.0 * y, 1000.0 * mean, 1000.0 * sigma)
    assert np.allclose(a, b, rtol=1e-9, atol=1e-15)


def test_float_noise_on_a_clean_signal_never_looks_new() -> None:
    """A zero-width band and rounding-level deviations keep every score tiny."""
    n = 800
    y = 20.0 + 10 * np.sin(2 * np.pi * np.arange(n) / 96)
    mean = np.round(y, 2)  # the model is exact up to rounding
    s = _scores(y + 1e-4, mean, np.zeros(n), season=96)
    assert s.max() < 0.05


def test_leaving_the_range_outranks_an_in_range_bad_fit() -> None:
    """A value beyond every past value scores above an equally bad fit inside the range."""
    n = 400
    y = np.sin(np.arange(n) / 5.0)
    mean = y.copy()
    sigma = np.full(n, 0.1)
    inside, outside = y.copy(), y.copy()
    inside[300] = y[300] + 0.5 if y[300] < 0 else y[300] - 0.5  # stays within [-1, 1]
    outside[300] = 1.5 if y[300] > 0 else -1.5
    assert _scores(outside, mean, sigma)[300] > _scores(inside, mean, sigma)[300]


def test_a_repeat_right_after_an_incident_is_damped() -> None:
    """A second, smaller surprise within the refractory period scores far below the first."""
    y, mean, sigma = _noise(600, seed=1)
    y[400], y[410] = 15.0, 12.0
    s = _scores(y, mean, sigma)
    assert s[410] < 1e-3 * s[400] * 1.01


def test_an_alarmed_incident_that_worsens_a_little_does_not_re_alarm() -> None:
    """After an alarm, a worse point of the same incident stays damped unless it beats
    the alarm by the re-fire margin; one far worse alarms again."""
    noise, _, sigma = _noise(600, seed=2)
    mean = 100.0 * np.sin(np.arange(600) * 2 * np.pi / 50)  # values stay inside ±100
    y = mean + noise
    y[400] = mean[400] + 6.0
    first = _scores(y, mean, sigma)[400]
    alarm = math.log(first / (1 - first))
    assert alarm >= ALARM_LOG_ODDS
    y[405] = mean[405] - 6.0 * math.exp(alarm + 0.5)  # worse than the alarm, inside the range
    s = _scores(y, mean, sigma)
    assert s[405] < DAMP  # damped: one incident, one alarm
    undamped = s[405] / DAMP
    assert math.log(undamped / (1 - undamped)) > alarm  # it would have alarmed again
    assert math.log(undamped / (1 - undamped)) < alarm + REFIRE_MARGIN  # but not by the margin
    y[410] = 1e6  # far past anything: alarms again
    assert _scores(y, mean, sigma)[410] > 0.99


def test_an_incident_ages_over_points_past_the_band() -> None:
    """Unscored points (no band) still age an incident: a spike after a stretch longer
    than the refractory period past the band is a new incident, not a damped repeat."""
    noise, _, sigma = _noise(600, seed=2)
    mean = 100.0 * np.sin(np.arange(600) * 2 * np.pi / 50)
    y = mean + noise
    y[400] = mean[400] + 6.0
    first = _scores(y, mean, sigma)[400]
    alarm = math.log(first / (1 - first))
    gap = mean.copy()
    gap[401:480] = np.nan  # the band ran out: 79 points unscored
    y[485] = mean[485] - 6.0 * math.exp(alarm + 0.5)  # worse, but not by the re-fire margin
    s = _scores(y, gap, sigma)
    assert s[401:480].max() == 0.0
    assert s[485] > first  # scored in full: a new incident


def test_state_round_trip_continues_the_same_stream() -> None:
    """Scoring in chunks through stored JSON state equals scoring the stream at once."""
    y, mean, sigma = _noise(700, seed=5)
    y[650] = 9.0
    ref = np.full(700, np.nan)
    whole = _scores(y, mean, sigma, season=1)
    parts = []
    state: ScorerState | None = None
    for a, b in [(0, 13), (13, 300), (300, 301), (301, 700)]:
        raw = state.to_state() if state is not None else None
        state = ScorerState.from_state(raw) if raw is not None else None
        s, _, state = residual_scores(y[a:b], mean[a:b], sigma[a:b], ref[a:b], state=state)
        parts.append(s)
    assert np.array_equal(np.concatenate(parts), whole)


def test_seasonal_reference_only_reads_the_history() -> None:
    """Steps one season or more ahead use seasons further back, never the future."""
    season = 4
    hist = np.arange(12, dtype=float)  # three seasons
    ref = seasonal_reference(hist, season, 8)
    # step 0 (value index 12): median of indices 8, 4, 0; step 4 (index 16): 8, 4, 0 too
    assert ref[0] == 4.0 and ref[4] == 4.0
    assert np.isnan(seasonal_reference(hist, 1, 3)).all()
    assert np.array_equal(insample_reference(hist, season)[[4, 8]], [0.0, 2.0])
