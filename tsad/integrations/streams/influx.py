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

import math
import time
from dataclasses import dataclass

from tsad.errors import InvalidInput

#: divisor from the line's timestamp unit to milliseconds
PRECISION_PER_MS = {"ns": 1_000_000, "us": 1_000, "ms": 1, "s": 0}
_TRUE = {"t", "T", "true", "True", "TRUE"}
_FALSE = {"f", "F", "false", "False", "FALSE"}


@dataclass(frozen=True)
class LinePoint:
    """One numeric field of one line."""

    name: str
    tags: tuple[tuple[str, str], ...]
    ts_ms: int
    value: float


def _split(text: str, seps: str, *, quotes: bool = False) -> list[str]:
    """Split on unescaped ``seps`` (escapes kept); double-quoted runs are not split."""
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


def parse_line(line: str, precision: str = "ns", now_ms: int | None = None) -> list[LinePoint]:
    """The numeric fields of one line; InvalidInput says what is wrong with it."""
    sections = _split(line.strip(), " ", quotes=True)
    sections = [s for s in sections if s]
    if len(sections) not in (2, 3):
        raise InvalidInput(f"expected 'measurement[,tags] fields [timestamp]', got {line[:80]!r}")
    key = _split(sections[0], ",")
    measurement = _unescape(key[0])
    if not measurement:
        raise InvalidInput(f"line {line[:80]!r} has no measurement")
    tags = tuple(sorted(_pair(t, "tag") for t in key[1:]))
    tags = tuple((k, _unescape(v)) for k, v in tags)
    stamp = _timestamp(
        sections[2] if len(sections) == 3 else None,
        precision,
        now_ms if now_ms is not None else int(time.time() * 1000),
    )
    points = []
    for field in _split(sections[1], ",", quotes=True):
        name, raw = _pair(field, "field")
        value = _number(raw, name)
        if value is not None:
            series = measurement if name == "value" else f"{measurement}_{name}"
            points.append(LinePoint(series, tags, stamp, value))
    return points


def parse_lines(text: str, precision: str = "ns") -> list[LinePoint]:
    """Every numeric field of every line (blank and ``#`` lines skipped)."""
    now_ms = int(time.time() * 1000)
    out: list[LinePoint] = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            out += parse_line(line, precision, now_ms)
    return out
