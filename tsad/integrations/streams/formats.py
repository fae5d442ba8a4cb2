"""Stream message bodies into tsad points: JSON points or Influx line protocol.

JSON (one object, or an array of them):

* ``{"series_id": "web.rps", "points": [[ts, v], {"timestamp": ts, "value": v}, ...]}``
* ``{"series_id": "web.rps", "timestamp": ts, "value": v}`` (one point; no
  ``timestamp``: the arrival time)
* ``{"series": [{"series_id": ..., "points": [...]}, ...]}`` (the ``POST /v1/points`` body)

Timestamps as everywhere in tsad: RFC 3339 strings or epoch seconds. Influx line
protocol: see ``tsad.integrations.streams.influx``. ``auto`` takes a body starting
with ``{`` or ``[`` as JSON, anything else as line protocol.

Everything in a message is checked before any of it is stored: a bad message is
dead-lettered whole.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import msgspec

from tsad.errors import InvalidInput
from tsad.integrations.streams.influx import parse_lines
from tsad.series import check_series_id, parse_timestamp, parse_value

FORMATS = ("auto", "json", "influx")


class MessagePoints(NamedTuple):
    """Points of one series in one message: epoch ms and values, checked, in arrival order.

    Plain lists: a message mostly holds a point or a few, and the consumer joins them
    per series into one array per batch (numpy per message would cost more than the
    points)."""

    series_id: str
    ts: list[int]
    y: list[float]


def decode_message(data: bytes, fmt: str = "auto", precision: str = "ns") -> list[MessagePoints]:
    """The points of one message, per series; InvalidInput says why a message is bad."""
    if fmt == "auto":
        fmt = "json" if data.lstrip()[:1] in (b"{", b"[") else "influx"
    if fmt == "json":
        return _json(data)
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"line protocol must be UTF-8: {exc}") from None
    by_id: dict[str, MessagePoints] = {}
    for sid, stamp, value in parse_lines(text, precision):
        item = by_id.get(sid)
        if item is None:
            item = by_id[sid] = MessagePoints(sid, [], [])
        item.ts.append(stamp)
        item.y.append(value)
    if not by_id:
        raise InvalidInput("the message has no numeric field")
    return list(by_id.values())


def _json(data: bytes) -> list[MessagePoints]:
    try:
        doc = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"the message is not valid JSON: {exc}") from None
    items: list[Any] = doc if isinstance(doc, list) else [doc]
    out: list[MessagePoints] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("series"), list):
            out += [_series(s) for s in item["series"]]
        else:
            out.append(_series(item))
    if not out:
        raise InvalidInput("the message holds no series")
    return out


def _series(item: Any) -> MessagePoints:
    if not isinstance(item, dict) or not isinstance(item.get("series_id"), str):
        raise InvalidInput("each JSON message needs a string 'series_id'")
    sid = check_series_id(item["series_id"])
    if "points" in item:
        points = item["points"]
        if not isinstance(points, list) or not points:
            raise InvalidInput(f"series {sid!r}: 'points' must be a non-empty list")
    elif "value" in item:
        points = [[item.get("timestamp", time.time()), item["value"]]]
    else:
        raise InvalidInput(f"series {sid!r}: give 'points' or 'value'")
    out = MessagePoints(sid, [], [])
    try:
        for i, point in enumerate(points):
            if isinstance(point, list) and len(point) == 2:
                t, v = point
            elif isinstance(point, dict) and "timestamp" in point and "value" in point:
                t, v = point["timestamp"], point["value"]
            else:
                raise InvalidInput(
                    f"point {i}: expected [timestamp, value] or {{timestamp, value}}"
                )
            out.ts.append(parse_timestamp(t, i))
            out.y.append(parse_value(v, i))
    except InvalidInput as exc:
        raise InvalidInput(f"series {sid!r}: {exc.detail}") from None
    return out
