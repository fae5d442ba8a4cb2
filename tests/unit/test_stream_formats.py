"""Stream message bodies: JSON points and Influx line protocol into tsad series."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tsad.errors import InvalidInput
from tsad.integrations.streams.formats import decode_message
from tsad.integrations.streams.influx import parse_line

T0 = 1_704_067_200


def by_id(data: bytes, fmt: str = "auto", precision: str = "ns") -> dict[str, list[list[float]]]:
    return {
        s.series_id: [[int(t), float(v)] for t, v in zip(s.ts, s.y, strict=True)]
        for s in decode_message(data, fmt, precision)
    }


def test_json_points_single_point_and_bulk_forms() -> None:
    """The points form, the one-point form and the POST /v1/points form all decode."""
    assert by_id(
        b'{"series_id": "a", "points": [[1704067200, 1.5], ["2024-01-01T00:01:00Z", 2]]}'
    ) == {"a": [[T0 * 1000, 1.5], [(T0 + 60) * 1000, 2.0]]}
    assert by_id(b'{"series_id": "b", "timestamp": 1704067200, "value": 3}') == {
        "b": [[T0 * 1000, 3.0]]
    }
    bulk = (
        b'{"series": [{"series_id": "c", "points": [[1704067200, 1]]},'
        b' {"series_id": "d", "points": [{"timestamp": 1704067200, "value": 2}]}]}'
    )
    assert set(by_id(bulk)) == {"c", "d"}


def test_json_point_without_timestamp_takes_the_arrival_time() -> None:
    """A single point with no timestamp is stamped when it is decoded."""
    before = time.time() * 1000
    ((t, v),) = by_id(b'{"series_id": "a", "value": 7}')["a"]
    assert before - 1 <= t <= time.time() * 1000 + 1 and v == 7.0


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"points": [[1, 2]]}',
        b'{"series_id": "a/b", "points": [[1, 2]]}',
        b'{"series_id": "a", "points": []}',
        b'{"series_id": "a", "points": [[1704067200, "x"]]}',
        b'{"series_id": "a"}',
        b"[]",
    ],
)
def test_bad_json_messages_say_what_is_wrong(body: bytes) -> None:
    """Malformed JSON, missing or bad ids, empty or bad points are InvalidInput."""
    with pytest.raises(InvalidInput):
        decode_message(body, "json")


def test_line_protocol_fields_become_series_named_like_telegraf() -> None:
    """Each numeric field is a series <measurement>_<field> (or <measurement> for 'value')."""
    text = (
        b"cpu,host=a,cpu=cpu0 usage_idle=97.5,usage_user=2i 1704067200000000000\n"
        b"load value=0.5 1704067200000000000\n"
    )
    got = by_id(text)
    assert got == {
        "cpu_usage_idle,cpu=cpu0,host=a": [[T0 * 1000, 97.5]],
        "cpu_usage_user,cpu=cpu0,host=a": [[T0 * 1000, 2.0]],
        "load": [[T0 * 1000, 0.5]],
    }


def test_line_protocol_escapes_strings_booleans_and_precision() -> None:
    """Escaped spaces/commas/equals, string fields skipped, booleans 1/0, other precisions."""
    (point,) = parse_line(r'disk\ io,path=C:\\x\,y,k\=1=v up=t,msg="a b, c=d" 1704067200', "s")
    assert point.name == "disk io_up" and point.value == 1.0
    assert dict(point.tags) == {"path": r"C:\x,y", "k=1": "v"}
    assert point.ts_ms == T0 * 1000
    got = by_id(b"m,t=1 v=2u 1704067200000", precision="ms")
    assert got == {"m_v,t=1": [[T0 * 1000, 2.0]]}


@pytest.mark.parametrize(
    "line",
    [
        b"cpu",
        b"cpu usage=abc 1",
        b"cpu usage=1 notanumber",
        b'cpu msg="unterminated 1',
        b"cpu x=nan",
    ],
)
def test_bad_lines_are_invalid(line: bytes) -> None:
    """A line without fields, with a non-numeric value, timestamp or NaN is InvalidInput."""
    with pytest.raises(InvalidInput):
        decode_message(line, "influx")


def test_auto_format_picks_json_or_line_protocol() -> None:
    """auto reads '{'/'[' bodies as JSON and anything else as line protocol."""
    assert set(by_id(b'[{"series_id": "j", "value": 1, "timestamp": 1}]')) == {"j"}
    assert set(by_id(b"l v=1 1")) == {"l_v"}
    ts = decode_message(b"l v=1 1", "influx")[0].ts
    np.testing.assert_array_equal(ts, [0])
