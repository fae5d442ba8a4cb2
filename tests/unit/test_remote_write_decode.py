"""Remote write decoding: snappy + protobuf bodies into series ids and arrays."""

from __future__ import annotations

import math

import cramjam
import numpy as np
import pytest

from tests.remote_write_messages import STALE_NAN, snappy_body, write_request
from tsad.errors import BadRequest, TooLarge
from tsad.integrations.remote_write.decode import decode_write, series_id_for
from tsad.integrations.remote_write.select import parse_selectors
from tsad.series import check_series_id

LIMIT = 1 << 20


def test_series_id_is_name_then_sorted_labels() -> None:
    """The id is the metric name, then name=value labels sorted by name, joined by ','."""
    sid = series_id_for("http_requests_total", [("job", "api"), ("code", "200")])
    assert sid == "http_requests_total,code=200,job=api"


def test_series_id_maps_other_characters_and_drops_empty_labels() -> None:
    """Characters outside the id alphabet, and ',' '=' in values, become '_'; empty labels go."""
    sid = series_id_for("x", [("path", "/a b,c=d"), ("instance", "h:9090"), ("empty", "")])
    assert sid == "x,instance=h:9090,path=_a_b_c_d"
    assert check_series_id(sid) == sid


def test_long_series_id_keeps_a_prefix_and_a_hash() -> None:
    """Over 200 characters: a readable prefix plus '-' and 12 hex digits, distinct per label set."""
    a = series_id_for("m", [("long", "v" * 300), ("k", "1")])
    b = series_id_for("m", [("long", "v" * 300), ("k", "2")])
    assert len(a) == len(b) == 200
    assert a.startswith("m,k=1,long=vvv") and a != b
    assert a[-13] == "-" and int(a[-12:], 16) >= 0
    assert check_series_id(a) == a


def test_decode_gives_arrays_per_series() -> None:
    """Each time series becomes one id with its timestamps (ms) and values in order."""
    body = snappy_body(
        write_request(
            [
                ({"__name__": "up", "job": "a"}, [(1000, 1.0), (2000, 0.0)]),
                ({"__name__": "load", "host": "h"}, [(1500, 0.25)]),
            ]
        )
    )
    out = decode_write(body, [], LIMIT)
    assert out.samples == 3
    by_id = {s.series_id: s for s in out.series}
    assert set(by_id) == {"up,job=a", "load,host=h"}
    np.testing.assert_array_equal(by_id["up,job=a"].ts, [1000, 2000])
    np.testing.assert_array_equal(by_id["up,job=a"].y, [1.0, 0.0])


def test_stale_markers_nan_and_infinite_samples_are_skipped_and_counted() -> None:
    """Staleness markers, other NaNs and infinities are dropped, each counted by reason."""
    samples = [(1, 1.0), (2, STALE_NAN), (3, math.nan), (4, math.inf), (5, 5.0)]
    out = decode_write(snappy_body(write_request([({"__name__": "m"}, samples)])), [], LIMIT)
    (series,) = out.series
    np.testing.assert_array_equal(series.ts, [1, 5])
    assert (out.skipped["stale"], out.skipped["nan"], out.skipped["infinite"]) == (1, 1, 1)


def test_a_series_of_only_stale_markers_yields_nothing() -> None:
    """A series whose samples are all staleness markers adds no series."""
    out = decode_write(snappy_body(write_request([({"__name__": "m"}, [(1, STALE_NAN)])])), [], 9e9)
    assert out.series == [] and out.skipped["stale"] == 1


def test_selectors_filter_series_and_count_the_rest() -> None:
    """Only series matching a selector are kept; the others are counted as filtered."""
    selectors = parse_selectors('up; http_requests_total{code=~"5.."}')
    body = snappy_body(
        write_request(
            [
                ({"__name__": "up", "job": "a"}, [(1, 1.0)]),
                ({"__name__": "http_requests_total", "code": "500"}, [(1, 3.0)]),
                ({"__name__": "http_requests_total", "code": "200"}, [(1, 9.0)]),
                ({"__name__": "go_goroutines"}, [(1, 7.0), (2, 8.0)]),
            ]
        )
    )
    out = decode_write(body, selectors, LIMIT)
    assert {s.series_id for s in out.series} == {"up,job=a", "http_requests_total,code=500"}
    assert out.skipped["filtered"] == 3


def test_series_mapping_to_one_id_are_joined() -> None:
    """Two label sets that map to the same id land in one series with all samples."""
    body = snappy_body(
        write_request(
            [
                ({"__name__": "m", "p": "a/b"}, [(1, 1.0)]),
                ({"__name__": "m", "p": "a b"}, [(2, 2.0)]),
            ]
        )
    )
    (series,) = decode_write(body, [], LIMIT).series
    assert series.series_id == "m,p=a_b"
    np.testing.assert_array_equal(series.ts, [1, 2])


def test_a_series_without_a_metric_name_is_skipped() -> None:
    """A time series with no __name__ label is counted as no_name, not stored."""
    out = decode_write(snappy_body(write_request([({"job": "x"}, [(1, 1.0)])])), [], LIMIT)
    assert out.series == [] and out.skipped["no_name"] == 1


def test_body_that_is_not_snappy_is_a_bad_request() -> None:
    """A body that is not snappy block format is a 400, naming snappy."""
    with pytest.raises(BadRequest, match="snappy"):
        decode_write(b"\x05not snappy at all", [], LIMIT)


def test_snappy_body_that_is_not_a_write_request_is_a_bad_request() -> None:
    """Valid snappy around bytes that are not a WriteRequest is a 400."""
    body = bytes(cramjam.snappy.compress_raw(b"\x0a\xff\xff\xff\xff\x0f garbage"))
    with pytest.raises(BadRequest, match="WriteRequest"):
        decode_write(body, [], LIMIT)


def test_body_that_inflates_past_the_limit_is_too_large() -> None:
    """The declared uncompressed size is checked before inflating: over the limit, 413."""
    body = snappy_body(write_request([({"__name__": "m"}, [(i, 1.0) for i in range(1000)])]))
    with pytest.raises(TooLarge):
        decode_write(body, [], 100)


def test_mixed_request_counts_each_sample_once() -> None:
    """Samples of filtered series count as filtered (even stale ones); kept series keep
    their good samples in order around skipped ones."""
    body = snappy_body(
        write_request(
            [
                ({"__name__": "drop"}, [(1, STALE_NAN), (2, 1.0)]),
                ({"__name__": "keep", "a": "1"}, [(1, 1.0), (2, math.nan), (3, 3.0)]),
                ({"__name__": "keep", "a": "2"}, [(1, 5.0)]),
            ]
        )
    )
    out = decode_write(body, parse_selectors("keep"), LIMIT)
    assert {k: v for k, v in out.skipped.items() if v} == {"filtered": 2, "nan": 1}
    by_id = {s.series_id: s.y.tolist() for s in out.series}
    assert by_id == {"keep,a=1": [1.0, 3.0], "keep,a=2": [5.0]}
