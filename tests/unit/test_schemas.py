"""Wire types and the edge decoding/encoding around them (no I/O)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import numpy as np
import pytest

from tsad.api.decode import (
    check_json_content_type,
    decode_json,
    inline_points,
    points_arrays,
    query_range,
)
from tsad.api.encode import forecast_rows, scored_points, timestamps
from tsad.api.errors import _slug
from tsad.api.schemas import DetectRequest, ForecastRequest, IngestRequest, ScoredPoint
from tsad.detect.score import score_against_band
from tsad.errors import BadRequest, InvalidInput, TooLarge, UnsupportedMediaType
from tsad.series import Band, parse_points


def test_forecast_request_defaults() -> None:
    """A forecast body needs only ``h``; levels default to [80, 95]."""
    req = decode_json(b'{"h": 3, "series_id": "a"}', ForecastRequest)
    assert (req.h, req.levels, req.model, req.points) == (3, [80.0, 95.0], None, None)


def test_unknown_fields_are_ignored() -> None:
    """Clients may send more than tsad reads (tolerant reader)."""
    req = decode_json(b'{"points": [], "source": "agent-7"}', IngestRequest)
    assert req.points == []


def test_detect_mode_is_an_enum() -> None:
    """``mode`` other than batch/online fails with the field path."""
    with pytest.raises(InvalidInput, match=r"\$\.mode"):
        decode_json(b'{"mode": "live"}', DetectRequest)


def test_booleans_are_not_integers() -> None:
    """``h: true`` is a type error, not h=1."""
    with pytest.raises(InvalidInput, match=r"\$\.h"):
        decode_json(b'{"h": true}', ForecastRequest)


@pytest.mark.parametrize("body", [b"", b"  \n", b"{", b"{'h': 1}", b"\xff\xfe"])
def test_empty_or_malformed_bodies_are_bad_requests(body: bytes) -> None:
    """Empty or non-JSON bodies raise BadRequest (400)."""
    with pytest.raises(BadRequest):
        decode_json(body, ForecastRequest)


def test_nan_literals_are_read_leniently_so_the_value_is_blamed() -> None:
    """A body with NaN (as json.dumps writes it) decodes; validation then names the value."""
    body = json.dumps({"points": [[0, float("nan")]]}).encode()
    req = decode_json(body, IngestRequest)
    assert np.isnan(req.points[0][1])
    with pytest.raises(InvalidInput, match="point 0"):
        inline_points(req.points, 10)


def test_lenient_path_still_checks_types() -> None:
    """A NaN body whose fields have the wrong types is still a 422 naming the field."""
    with pytest.raises(InvalidInput, match=r"\$\.h"):
        decode_json(b'{"h": "x", "levels": [NaN]}', ForecastRequest)


def test_inline_points_limit_comes_before_parsing() -> None:
    """Too many points raise TooLarge with the limit, even if they are garbage."""
    with pytest.raises(TooLarge) as err:
        inline_points(["junk"] * 11, 10)
    assert err.value.extra["limit"] == 10


@pytest.mark.parametrize(
    "ctype",
    [None, "", "application/json", "application/json; charset=utf-8", "application/problem+json"],
)
def test_json_content_types_are_accepted(ctype: str | None) -> None:
    """JSON media types (and none at all) pass the content-type check."""
    check_json_content_type(ctype)


@pytest.mark.parametrize(
    "ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_other_content_types_are_415(ctype: str) -> None:
    """Other media types raise UnsupportedMediaType naming what was sent."""
    with pytest.raises(UnsupportedMediaType, match=ctype.split(";")[0]):
        check_json_content_type(ctype)


def test_query_range_accepts_both_timestamp_forms() -> None:
    """start/end take epoch seconds or RFC 3339; blanks mean unbounded."""
    assert query_range("1704067200", "2024-01-01T01:00:00Z") == (
        1_704_067_200_000,
        1_704_070_800_000,
    )
    assert query_range("1704067200.5", None) == (1_704_067_200_500, None)
    assert query_range(" ", None) == (None, None)
    with pytest.raises(InvalidInput, match="after"):
        query_range("2024-01-02", "2024-01-01")


def test_timestamps_format_whole_seconds_and_milliseconds() -> None:
    """Epoch ms become RFC 3339 UTC; milliseconds show only when present."""
    assert timestamps(np.array([0, 1_704_067_200_000], np.int64)) == [
        "1970-01-01T00:00:00Z",
        "2024-01-01T00:00:00Z",
    ]
    assert timestamps(np.array([1_500, 2_000], np.int64)) == [
        "1970-01-01T00:00:01.500Z",
        "1970-01-01T00:00:02Z",
    ]
    assert timestamps(np.array([], np.int64)) == []


def test_scored_points_encode_nan_bands_as_null() -> None:
    """Points without a band have null expected/lo/hi; flags carry a direction word."""
    ts = np.array([0, 1000, 2000], np.int64)
    y = np.array([1.0, 50.0, -50.0])
    nan = np.nan
    scored = score_against_band(
        ts,
        y,
        np.array([nan, 0.0, 0.0]),
        np.array([nan, -1.0, -1.0]),
        np.array([nan, 1.0, 1.0]),
        95.0,
    )
    points = scored_points(scored)
    assert points[0].expected is None and points[0].lo is None and points[0].direction is None
    assert (points[1].direction, points[2].direction) == ("up", "down")
    wire = msgspec.json.decode(msgspec.json.encode(points[1]))
    assert set(wire) == set(ScoredPoint.__struct_fields__)
    assert wire["is_anomaly"] is True and wire["severity"] == pytest.approx(24.5)


def test_forecast_rows_use_nixtla_column_names() -> None:
    """Each forecast row has timestamp, mean and lo-L/hi-L per level."""
    band = Band(
        np.array([0, 60_000], np.int64),
        np.array([1.0, 2.0]),
        {80.0: np.array([0.5, 1.5]), 99.5: np.array([0.0, 1.0])},
        {80.0: np.array([1.5, 2.5]), 99.5: np.array([2.0, 3.0])},
    )
    rows = forecast_rows(band)
    assert rows[1] == {
        "timestamp": "1970-01-01T00:01:00Z",
        "mean": 2.0,
        "lo-80": 1.5,
        "hi-80": 2.5,
        "lo-99.5": 1.0,
        "hi-99.5": 3.0,
    }


def test_problem_type_slugs() -> None:
    """Problem ``type`` URNs are the error class names in kebab case."""
    assert _slug("NotEnoughPoints") == "not-enough-points"
    assert _slug("TooLarge") == "too-large"


@pytest.mark.parametrize(
    "points",
    [
        [[1704067200, 1.5], [1704067260.25, -2], [0, 0], [-86400.0005, 3e300]],
        [[1704067200, 1], ["2024-01-01T00:01:00Z", 2.0], {"timestamp": 5, "value": 6}],
        [],
    ],
)
def test_points_fast_path_agrees_with_parse_points(points: list[Any]) -> None:
    """Numeric pairs take the vectorised path and give exactly what parse_points gives."""
    ts, y = points_arrays(points)
    ref_ts, ref_y = parse_points(points)
    assert ts.dtype == np.int64 and y.dtype == np.float64
    assert ts.tolist() == ref_ts.tolist() and y.tolist() == ref_y.tolist()


@pytest.mark.parametrize(
    ("points", "needle"),
    [
        ([[0, 1.0], [1, True]], "point 1"),
        ([[0, 1.0], [1e15, 2.0]], "point 1"),
        ([[0, 1.0], [1, 2, 3]], "point 1"),
        ([[0, None]], "point 0"),
    ],
)
def test_points_fast_path_falls_back_to_precise_errors(points: list[Any], needle: str) -> None:
    """Booleans, out-of-range stamps, wrong arity and nulls are refused naming the point."""
    with pytest.raises(InvalidInput, match=needle):
        points_arrays(points)
