"""Parsing and cleaning of client points: the edge where input is validated once."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsad.errors import InvalidInput
from tsad.series import (
    Series,
    check_levels,
    check_series_id,
    clean,
    format_ts,
    freq_alias,
    infer_step_ms,
    level_label,
    parse_freq,
    parse_points,
    parse_timestamp,
    regularise,
    season_length,
    to_series_id,
)


def test_both_point_forms_parse_to_the_same_arrays() -> None:
    """[t, v] and {timestamp, value} points give identical arrays."""
    a = parse_points([["2024-01-01T00:00:00Z", 1.5], [1704067260, 2]])
    b = parse_points(
        [
            {"timestamp": "2024-01-01 00:00:00", "value": 1.5},
            {"timestamp": 1704067260.0, "value": 2},
        ]
    )
    assert a[0].tolist() == b[0].tolist() == [1704067200000, 1704067260000]
    assert a[1].tolist() == b[1].tolist() == [1.5, 2.0]


def test_timestamp_without_offset_is_utc_and_offsets_are_honoured() -> None:
    """A naive ISO timestamp is UTC; an explicit offset shifts it."""
    assert parse_timestamp("2024-01-01T00:00:00") == 1704067200000
    assert parse_timestamp("2024-01-01T01:00:00+01:00") == 1704067200000
    assert parse_timestamp(1704067200.25) == 1704067200250


@pytest.mark.parametrize(
    ("point", "fragment"),
    [
        (["yesterday", 1.0], "cannot parse timestamp"),
        (["2024-01-01", None], "value must be a finite number, got null"),
        (["2024-01-01", float("nan")], "finite"),
        (["2024-01-01", float("inf")], "finite"),
        (["2024-01-01", "3"], "value must be a finite number"),
        ([True, 1.0], "boolean"),
        ([1, 2, 3], "expected [timestamp, value]"),
        ({"t": 1, "v": 2}, "'timestamp' and 'value'"),
        ("abc", "expected [timestamp, value]"),
    ],
)
def test_bad_points_are_rejected_with_the_point_index(point: object, fragment: str) -> None:
    """Every malformed point raises InvalidInput naming its index and what is wrong."""
    with pytest.raises(InvalidInput) as err:
        parse_points([[0, 1.0], point])
    assert "point 1" in err.value.detail
    assert fragment in err.value.detail


def test_clean_sorts_and_keeps_the_last_duplicate() -> None:
    """Unsorted input is sorted; a repeated timestamp keeps the value sent last."""
    c = clean(np.array([3, 1, 2, 1]), np.array([30.0, 10.0, 20.0, 11.0]))
    assert c.unsorted and c.duplicates == 1
    assert c.series.ts.tolist() == [1, 2, 3]
    assert c.series.y.tolist() == [11.0, 20.0, 30.0]


def test_regularise_fills_gaps_linearly_and_counts_them() -> None:
    """Missing grid slots are interpolated between neighbours and reported."""
    r = regularise(Series(np.array([0, 10, 40]), np.array([0.0, 1.0, 4.0])), 10)
    assert r.series.ts.tolist() == [0, 10, 20, 30, 40]
    assert r.series.y.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert r.filled == 2 and r.slots.tolist() == [0, 1, 4]


def test_frequency_inference_uses_the_most_common_step() -> None:
    """The step is the modal gap, robust to one missing point."""
    ts = np.array([0, 300_000, 600_000, 1_200_000, 1_500_000])
    assert infer_step_ms(ts) == 300_000
    assert freq_alias(300_000) == "5min" and freq_alias(3_600_000) == "h"
    assert season_length(300_000) == 288 and season_length(86_400_000) == 7


def test_parse_freq_accepts_fixed_aliases_and_rejects_calendar_ones() -> None:
    """'5min', 'h', '30s', 'D' parse; month-like aliases are refused clearly."""
    assert [parse_freq(f) for f in ("5min", "h", "30s", "D")] == [
        300_000,
        3_600_000,
        30_000,
        86_400_000,
    ]
    with pytest.raises(InvalidInput, match="fixed-length"):
        parse_freq("M")


def test_series_ids_are_checked_and_mapped() -> None:
    """Ids outside [A-Za-z0-9_.:=,-] or over 200 chars are refused; labels are mapped."""
    assert check_series_id("web.requests:eu-1") == "web.requests:eu-1"
    for bad in ("", "a/b", "x{y}", "a" * 201, "space here"):
        with pytest.raises(InvalidInput):
            check_series_id(bad)
    assert to_series_id("alerts:High CPU/node{1}") == "alerts:High_CPU_node_1_"


def test_levels_and_labels() -> None:
    """Levels must lie in (0, 100); labels follow Nixtla naming."""
    assert check_levels([95, 80, 95]) == [80.0, 95.0]
    for bad in (0, 100, -5, float("nan")):
        with pytest.raises(InvalidInput):
            check_levels([bad])
    assert level_label(95.0) == "95" and level_label(99.5) == "99.5"


def test_format_ts_is_rfc3339_utc() -> None:
    """Responses carry RFC 3339 UTC strings, with milliseconds only when needed."""
    assert format_ts(1704067200000) == "2024-01-01T00:00:00Z"
    assert format_ts(1704067200250) == "2024-01-01T00:00:00.250Z"


@given(st.lists(st.tuples(st.integers(0, 10**6), st.floats(-1e9, 1e9)), max_size=50))
def test_clean_output_is_strictly_increasing_and_complete(pairs: list[tuple[int, float]]) -> None:
    """Whatever the order and repeats, cleaned timestamps are the distinct inputs, sorted."""
    ts = np.array([p[0] for p in pairs], np.int64)
    y = np.array([p[1] for p in pairs], np.float64)
    c = clean(ts, y)
    assert c.series.ts.tolist() == sorted(set(ts.tolist()))
    assert c.duplicates == len(pairs) - len(set(ts.tolist()))
    last = {t: v for t, v in pairs}
    assert c.series.y.tolist() == [last[t] for t in c.series.ts.tolist()]
