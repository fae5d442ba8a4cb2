"""The pure scoring function: value vs band → flag, direction, score, severity."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tsad.detect.calibrate import level_quantile as z_for_level
from tsad.detect.score import score_against_band


def _score(y: list[float], level: float = 95.0):
    n = len(y)
    z = z_for_level(level)
    return score_against_band(
        np.arange(n, dtype=np.int64),
        np.array(y),
        np.zeros(n),
        np.full(n, -z),
        np.full(n, z),
        level,
    )


def test_points_outside_the_band_are_flagged_with_direction() -> None:
    """Above the band is 'up' (1), below is 'down' (-1), inside is not flagged."""
    s = _score([0.0, 5.0, -5.0])
    assert s.is_anomaly.tolist() == [False, True, True]
    assert s.direction.tolist() == [0, 1, -1]


def test_score_at_the_band_edge_equals_the_level() -> None:
    """A value exactly on the band's edge scores level/100."""
    s = _score([z_for_level(95.0)])
    assert abs(s.score[0] - 0.95) < 1e-9


def test_severity_is_distance_outside_in_band_widths() -> None:
    """Severity is 0 inside and (distance outside)/(band width) outside."""
    z = z_for_level(95.0)
    s = _score([0.5, z + 2 * z])  # one band-width (2z) above hi
    assert s.severity[0] == 0.0
    assert abs(s.severity[1] - 1.0) < 1e-9


def test_missing_band_is_not_scored() -> None:
    """Where the band is NaN nothing is flagged and the score is 0."""
    s = score_against_band(
        np.array([1]),
        np.array([1e9]),
        np.array([np.nan]),
        np.array([np.nan]),
        np.array([np.nan]),
        99.0,
    )
    assert not s.is_anomaly[0] and s.score[0] == 0.0 and s.direction[0] == 0


def test_zero_width_band_flags_any_deviation() -> None:
    """A flat band (constant series) flags any different value with score 1."""
    s = score_against_band(
        np.array([1, 2]),
        np.array([3.0, 3.5]),
        np.array([3.0, 3.0]),
        np.array([3.0, 3.0]),
        np.array([3.0, 3.0]),
        99.0,
    )
    assert s.is_anomaly.tolist() == [False, True]
    assert s.score.tolist() == [0.0, 1.0]


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30))
def test_score_is_bounded_and_monotone_in_distance(values: list[float]) -> None:
    """Scores stay in [0, 1] and never fall as |value - mean| grows."""
    s = _score(values)
    assert np.all((s.score >= 0) & (s.score <= 1))
    order = np.argsort(np.abs(values), kind="stable")
    assert np.all(np.diff(s.score[order]) >= -1e-12)


@given(
    st.lists(
        st.tuples(st.floats(-100, 100), st.floats(-10, 10), st.floats(0, 5), st.floats(0, 5)),
        min_size=1,
        max_size=8,
    )
)
def test_small_batch_path_matches_the_vectorised_path(
    rows: list[tuple[float, float, float, float]],
) -> None:
    """The plain-Python path for tiny batches gives exactly the numpy path's results."""
    y = np.array([r[0] for r in rows])
    mean = np.array([r[1] for r in rows])
    lo = mean - np.array([r[2] for r in rows])
    hi = mean + np.array([r[3] for r in rows])
    ts = np.arange(len(rows), dtype=np.int64)
    small = score_against_band(ts, y, mean, lo, hi, 99.0)
    big = score_against_band(
        np.tile(ts, 3), np.tile(y, 3), np.tile(mean, 3), np.tile(lo, 3), np.tile(hi, 3), 99.0
    )
    n = len(rows)
    assert small.is_anomaly.tolist() == big.is_anomaly[:n].tolist()
    assert small.direction.tolist() == big.direction[:n].tolist()
    np.testing.assert_allclose(small.score, big.score[:n], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(small.severity, big.severity[:n], rtol=1e-12, atol=1e-12)


def test_float_noise_at_a_zero_width_band_is_not_flagged() -> None:
    """A value equal to a zero-width band's edge up to rounding is inside."""
    edge = 49.7
    noisy = np.array([edge - 1e-12, edge + 1e-12, edge + 0.01])
    s = score_against_band(
        np.arange(3, dtype=np.int64),
        noisy,
        np.full(3, edge),
        np.full(3, edge),
        np.full(3, edge),
        99.0,
    )
    assert s.is_anomaly.tolist() == [False, False, True]
    big = score_against_band(
        np.arange(30, dtype=np.int64),
        np.tile(noisy, 10),
        np.full(30, edge),
        np.full(30, edge),
        np.full(30, edge),
        99.0,
    )
    assert big.is_anomaly.tolist() == [False, False, True] * 10
