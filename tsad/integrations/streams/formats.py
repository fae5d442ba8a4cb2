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
from typing import Any

import msgspec
import numpy as np

from tsad.api.decode import points_arrays
from tsad.errors import InvalidInput
from tsad.integrations.remote_write.decode import SeriesSamples, series_id_for
from tsad.integrations.streams.influx import parse_lines
from tsad.series import check_series_id

FORMATS = ("auto", "json", "influx")


def decode_message(data: bytes, fmt: str = "auto", precision: str = "ns") -> list[SeriesSamples]:
    """The points of one message, per series; InvalidInput says why a message is bad."""
    if fmt == "auto":
        fmt = "json" if data.lstrip()[:1] in (b"{", b"[") else "influx"
    if fmt == "json":
        return _json(data)
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"line protocol must be UTF-8: {exc}") from None
    by_id: dict[str, tuple[list[int], list[float]]] = {}
    for point in parse_lines(text, precision):
        ts, ys = by_id.setdefault(series_id_for(point.name, point.tags), ([], []))
        ts.append(point.ts_ms)
        ys.append(point.value)
    if not by_id:
        raise InvalidInput("the message has no numeric field")
    return [
        SeriesSamples(sid, np.array(ts, np.int64), np.array(ys, np.float64))
        for sid, (ts, ys) in by_id.items()
    ]


def _json(data: bytes) -> list[SeriesSamples]:
    try:
        doc = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"the message is not valid JSON: {exc}") from None
    items: list[Any] = doc if isinstance(doc, list) else [doc]
    out: list[SeriesSamples] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("series"), list):
            out += [_series(s) for s in item["series"]]
        else:
            out.append(_series(item))
    if not out:
        raise InvalidInput("the message holds no series")
    return out


def _series(item: Any) -> SeriesSamples:
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
    try:
        ts, y = points_arrays(points)
    except InvalidInput as exc:
        raise InvalidInput(f"series {sid!r}: {exc.detail}") from None
    return SeriesSamples(sid, ts, y)
