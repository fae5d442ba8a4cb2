"""Influx line protocol into tsad points (the format Telegraf and many agents emit).

``measurement[,tag=value...] field=value[,field=value...] [timestamp]``, one point
per line; ``#`` lines are comments. Each numeric field is its own tsad series, named
as Telegraf's Prometheus output names it — ``<measurement>_<field>`` (just
``<measurement>`` for a field called ``value``) — then the tags, as remote write
ids are (``cpu_usage_idle,cpu=cpu0,host=a``). Floats, integers (``1i``, ``1u``)
and booleans (1/0) are numbers; string fields are skipped. Timestamps are
nanoseconds unless another precision is given; a line without one takes the
arrival time.

No maintained Python package parses line protocol (the Influx clients only write
it), so this is a small scanner of its own, escapes included.
"""

from __future__ import annotations

import functools
import math
import time
from typing import NamedTuple

from tsad.errors import InvalidInput
from tsad.integrations.remote_write.decode import series_id_for

#: divisor from the line's timestamp unit to milliseconds
PRECISION_PER_MS = {"ns": 1_000_000, "us": 1_000, "ms": 1, "s": 0}
_TRUE = {"t", "T", "true", "True", "TRUE"}
_FALSE = {"f", "F", "false", "False", "FALSE"}


class LinePoint(NamedTuple):
    """One numeric field of one line."""

    name: str
    tags: tuple[tuple[str, str], ...]
    ts_ms: int
    value: float


def _split(text: str, seps: str, *, quotes: bool = False) -> list[str]:
    """Split on unescaped ``seps`` (escapes kept); double-quoted runs are not split."""
    if "\\" not in text and not (quotes and '"' in text):
        return text.split(seps)  # the common line: nothing escaped, no string field
    parts, start, i, quoted = [], 0, 0, False
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if quotes and ch == '"':
            quoted = not quoted
        elif not quoted and ch in seps:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    if quoted:
        raise InvalidInput("unterminated string field value")
    parts.append(text[start:])
    return parts


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in ', ="\\':
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _pair(text: str, what: str) -> tuple[str, str]:
    """``key=value`` split at the first unescaped ``=`` (a quoted value may hold more)."""
    kv = _split(text, "=", quotes=True)
    if len(kv) < 2 or not kv[0]:
        raise InvalidInput(f"{what} {text!r} is not key=value")
    return _unescape(kv[0]), "=".join(kv[1:])


def _number(raw: str, key: str) -> float | None:
    """A field value as a float; None for a string field."""
    if raw.startswith('"'):
        return None
    if raw in _TRUE:
        return 1.0
    if raw in _FALSE:
        return 0.0
    text = raw[:-1] if raw[-1:] in ("i", "u") else raw
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(f"field {key!r} has value {raw!r}, not a number") from None
    if not math.isfinite(value):
        raise InvalidInput(f"field {key!r} has value {raw!r}, not a finite number")
    return value


def _timestamp(raw: str | None, precision: str, now_ms: int) -> int:
    if raw is None:
        return now_ms
    try:
        stamp = int(raw)
    except ValueError:
        raise InvalidInput(f"timestamp {raw!r} is not an integer") from None
    per_ms = PRECISION_PER_MS[precision]
    return stamp * 1000 if per_ms == 0 else stamp // per_ms


def _plain_line(line: str, precision: str, now_ms: int) -> list[LinePoint] | None:
    """The common line — nothing escaped, no string field — read with plain splits;
    None when the line needs the full scanner (or is bad: the scanner says why)."""
    if "\\" in line or '"' in line:
        return None
    sections = line.split()
    if len(sections) not in (2, 3):
        return None
    key = sections[0].split(",")
    measurement = key[0]
    try:
        tags = tuple(sorted((k, v) for k, v in (t.split("=") for t in key[1:])))
        fields = [(k, v) for k, v in (f.split("=") for f in sections[1].split(","))]
    except ValueError:  # not exactly one '=' somewhere
        return None
    if not measurement or not all(k and v for k, v in tags) or not all(k and v for k, v in fields):
        return None
    stamp = _timestamp(sections[2] if len(sections) == 3 else None, precision, now_ms)
    return [
        LinePoint(measurement if name == "value" else f"{measurement}_{name}", tags, stamp, value)
        for name, raw in fields
        if (value := _number(raw, name)) is not None
    ]


def parse_line(line: str, precision: str = "ns", now_ms: int | None = None) -> list[LinePoint]:
    """The numeric fields of one line; InvalidInput says what is wrong with it."""
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    plain = _plain_line(line, precision, now_ms)
    if plain is not None:
        return plain
    sections = [s for s in _split(line.strip(), " ", quotes=True) if s]
    if len(sections) not in (2, 3):
        raise InvalidInput(f"expected 'measurement[,tags] fields [timestamp]', got {line[:80]!r}")
    key = _split(sections[0], ",")
    measurement = _unescape(key[0])
    if not measurement:
        raise InvalidInput(f"line {line[:80]!r} has no measurement")
    tags = tuple(sorted(_pair(t, "tag") for t in key[1:]))
    tags = tuple((k, _unescape(v)) for k, v in tags)
    stamp = _timestamp(sections[2] if len(sections) == 3 else None, precision, now_ms)
    points = []
    for field in _split(sections[1], ",", quotes=True):
        name, raw = _pair(field, "field")
        value = _number(raw, name)
        if value is not None:
            series = measurement if name == "value" else f"{measurement}_{name}"
            points.append(LinePoint(series, tags, stamp, value))
    return points


@functools.lru_cache(maxsize=100_000)
def _series_id(name: str, tags: tuple[tuple[str, str], ...]) -> str:
    return series_id_for(name, tags)


def parse_lines(text: str, precision: str = "ns") -> list[tuple[str, int, float]]:
    """(series id, epoch ms, value) for every numeric field of every line (blank and
    ``#`` lines skipped); ids as ``tsad.integrations.remote_write`` maps labels."""
    now_ms = int(time.time() * 1000)
    out: list[tuple[str, int, float]] = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            out += [
                (_series_id(p.name, p.tags), p.ts_ms, p.value)
                for p in parse_line(line, precision, now_ms)
            ]
    return out
