"""Property tests (hypothesis) for parsing at the edge and for scoring, beyond the
examples in test_series.py and test_score.py: whatever a client sends, parsing
either answers or raises a ClientError (never anything a route would turn into a
500); scoring's flags agree with the band and do not depend on units."""

from __future__ import annotations

import math
import re
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsad.api.decode import decode_json, points_arrays, query_timestamp
from tsad.api.schemas import BulkIngestRequest, DetectRequest, ForecastRequest, IngestRequest
from tsad.detect.fallback import fallback_band
from tsad.detect.score import score_against_band
from tsad.errors import ClientError, InvalidInput
from tsad.series import (
    Series,
    check_levels,
    check_series_id,
    format_ts,
    freq_alias,
    parse_freq,
    parse_points,
    parse_timestamp,
    regularise,
    to_series_id,
)

MIN_MS, MAX_MS = -62_135_596_800_000, 253_402_300_799_000
JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
IDS = st.text(alphabet="ABCxyz019_.:=,-/{} é", min_size=0, max_size=210)


@given(JSONISH)
def test_parse_timestamp_answers_in_range_or_raises_invalid_input(raw: Any) -> None:
    """Any JSON value as a timestamp: epoch ms within years 1-9999, or InvalidInput."""
    try:
        ms = parse_timestamp(raw)
    except InvalidInput:
        return
    assert isinstance(ms, int) and MIN_MS <= ms <= MAX_MS


@given(st.integers(MIN_MS, MAX_MS))
def test_format_ts_round_trips_through_parse_timestamp(ms: int) -> None:
    """What tsad answers (RFC 3339 UTC) parses back to the same millisecond."""
    assert parse_timestamp(format_ts(ms)) == ms


@given(st.floats(-1e10, 1e10, allow_nan=False))
def test_epoch_seconds_in_a_query_match_the_body_parser(seconds: float) -> None:
    """A start/end query value in epoch seconds means what it means in a body."""
    assert query_timestamp(repr(seconds), "start") == parse_timestamp(seconds)


@given(st.lists(JSONISH, max_size=8))
def test_points_parse_to_arrays_or_raise_a_client_error(points: list[Any]) -> None:
    """Any list as points: equal-length int64/float64 arrays of finite values, or a 4xx."""
    try:
        ts, y = points_arrays(points)
    except ClientError:
        return
    assert ts.dtype == np.int64 and y.dtype == np.float64 and ts.shape == y.shape == (len(points),)
    assert np.isfinite(y).all() and ((ts >= MIN_MS) & (ts <= MAX_MS)).all()


@given(
    st.lists(
        st.tuples(
            st.integers(0, 4_000_000_000) | st.floats(-6e10, 2.5e11, allow_nan=False),
            st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53), 2**53),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_vectorised_numeric_pairs_agree_with_the_point_parser(pairs: list[tuple[Any, Any]]) -> None:
    """The API's fast path for [epoch, value] pairs gives exactly what parse_points gives."""
    points = [list(p) for p in pairs]
    try:
        expected = parse_points(points)
    except InvalidInput:
        with pytest.raises(InvalidInput):
            points_arrays(points)
        return
    ts, y = points_arrays(points)
    np.testing.assert_array_equal(ts, expected[0])
    np.testing.assert_array_equal(y, expected[1])


@settings(max_examples=200)
@given(
    st.sampled_from([IngestRequest, BulkIngestRequest, ForecastRequest, DetectRequest]),
    st.binary(max_size=64)
    | JSONISH.map(lambda v: msgspec.json.encode(v) if _encodable(v) else b""),
)
def test_any_body_decodes_or_is_a_client_error(type_: type[Any], body: bytes) -> None:
    """Arbitrary bytes or JSON as a request body: a typed value, or a 400/422 ClientError."""
    try:
        value = decode_json(body, type_)
    except ClientError as exc:
        assert exc.status in (400, 422)
        return
    assert isinstance(value, type_)


def _encodable(value: Any) -> bool:
    try:
        msgspec.json.encode(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


@given(IDS)
def test_series_ids_are_accepted_exactly_when_they_match_the_contract(text: str) -> None:
    """check_series_id accepts 1-200 chars of [A-Za-z0-9_.:=,-] and nothing else."""
    valid = re.fullmatch(r"[A-Za-z0-9_.:=,-]{1,200}", text) is not None
    try:
        check_series_id(text)
        accepted = True
    except InvalidInput:
        accepted = False
    assert accepted == valid


@given(st.text(max_size=300))
def test_to_series_id_always_gives_a_valid_id(text: str) -> None:
    """Integrations' mapping from any label text is always a valid series id."""
    assert check_series_id(to_series_id(text))


@given(st.integers(1, 10**9))
def test_freq_alias_parses_back_to_the_same_step(step_ms: int) -> None:
    """freq_alias(step) is a fixed-length alias naming exactly that step."""
    assert parse_freq(freq_alias(step_ms)) == step_ms


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=5))
def test_levels_are_in_the_open_interval_or_rejected(levels: list[float]) -> None:
    """check_levels returns sorted distinct levels in (0, 100) or raises InvalidInput."""
    try:
        out = check_levels(levels)
    except InvalidInput:
        assert not levels or any(not (math.isfinite(v) and 0 < v < 100) for v in levels)
        return
    assert out == sorted(set(out)) and all(0 < v < 100 for v in out)


@given(
    st.lists(st.integers(0, 500), min_size=1, max_size=40, unique=True),
    st.integers(1, 10_000),
)
def test_regularise_keeps_every_point_and_spaces_the_grid_evenly(
    slots: list[int], step: int
) -> None:
    """Every input point sits on the regular grid with its own value; gaps are filled."""
    ts = np.array(sorted(slots), np.int64) * step
    y = np.arange(ts.shape[0], dtype=np.float64)
    reg = regularise(Series(ts, y), step)
    grid = reg.series.ts
    assert (np.diff(grid) == step).all() and np.isfinite(reg.series.y).all()
    np.testing.assert_array_equal(reg.series.y[reg.slots], y)
    assert reg.filled == grid.shape[0] - ts.shape[0]


BAND_VALUES = st.floats(-1e6, 1e6, allow_nan=False)
# zero-width bands are real (flat series); subnormal widths are not, and overflow numpy
HALF_WIDTHS = st.just(0.0) | st.floats(1e-9, 1e3)


@given(
    st.lists(
        st.tuples(BAND_VALUES, BAND_VALUES, HALF_WIDTHS, HALF_WIDTHS),
        min_size=1,
        max_size=30,
    ),
    st.floats(50, 99.9),
)
def test_flags_and_direction_agree_with_the_band(
    rows: list[tuple[float, float, float, float]], level: float
) -> None:
    """A point is flagged iff it lies outside [lo, hi] (beyond float noise), up above, down
    below; inside points have severity 0; scores lie in [0, 1]."""
    y = np.array([r[0] for r in rows])
    mean = np.array([r[1] for r in rows])
    lo, hi = mean - np.array([r[2] for r in rows]), mean + np.array([r[3] for r in rows])
    s = score_against_band(np.arange(len(rows), dtype=np.int64), y, mean, lo, hi, level)
    scale = np.maximum(1.0, np.abs(mean))
    clearly_out = (y > hi + 1e-6 * scale) | (y < lo - 1e-6 * scale)
    clearly_in = (y < hi - 1e-6 * scale) & (y > lo + 1e-6 * scale)
    assert s.is_anomaly[clearly_out].all() and not s.is_anomaly[clearly_in].any()
    assert (s.direction[s.is_anomaly & (y > hi)] == 1).all()
    assert (s.direction[s.is_anomaly & (y < lo)] == -1).all()
    assert (s.severity[clearly_in] == 0).all()
    assert ((s.score >= 0) & (s.score <= 1)).all()


@given(
    st.lists(
        st.tuples(st.floats(-100, 100), st.floats(0.1, 10), st.floats(0.1, 10)),
        min_size=9,
        max_size=30,
    ),
    st.floats(0.01, 1e4),
    st.floats(-1e5, 1e5),
)
def test_scoring_does_not_depend_on_units(
    rows: list[tuple[float, float, float]], scale: float, shift: float
) -> None:
    """Rescaling and shifting values and band together (°C to °F, bytes to MB) changes no flag."""
    y = np.array([r[0] for r in rows])
    mean = np.zeros(len(rows))
    lo, hi = -np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    # keep clear of the edges, where float rounding may legitimately flip a flag
    keep = (np.abs(y - lo) > 1e-3) & (np.abs(y - hi) > 1e-3)
    y, mean, lo, hi = y[keep], mean[keep], lo[keep], hi[keep]
    ts = np.arange(y.shape[0], dtype=np.int64)
    a = score_against_band(ts, y, mean, lo, hi, 95.0)
    b = score_against_band(
        ts, y * scale + shift, mean + shift, lo * scale + shift, hi * scale + shift, 95.0
    )
    np.testing.assert_array_equal(a.is_anomaly, b.is_anomaly)
    np.testing.assert_array_equal(a.direction, b.direction)
    np.testing.assert_allclose(a.score, b.score, atol=1e-6)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=12, max_size=120),
    st.sampled_from([60_000, 300_000, 3_600_000, 86_400_000]),
)
def test_fallback_band_is_finite_ordered_and_after_the_history(
    values: list[float], step: int
) -> None:
    """The fallback band always starts a step after the last point with lo <= mean <= hi."""
    ts = np.arange(len(values), dtype=np.int64) * step
    band = fallback_band(ts, np.array(values), step, 99.0, 12)
    assert band.start == int(ts[-1]) + step and band.step_ms == step
    assert (
        np.isfinite(band.mean).all()
        and (band.lo <= band.mean).all()
        and (band.mean <= band.hi).all()
    )
    assert (band.hi > band.lo).all()
