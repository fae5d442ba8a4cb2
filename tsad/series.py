"""Value types for series, bands and scored points, and the parsing that turns
what clients send into them (validated once, at the edge, into numpy arrays).

Timestamps are int64 milliseconds since the Unix epoch, UTC, everywhere inside
tsad: exact as Redis sorted-set scores (doubles) and cheap to compare.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from tsad.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MS_PER_S = 1000
_DAY_MS = 86_400_000


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Series:
    """One series: strictly increasing timestamps (ms) and finite values."""

    ts: IntArray
    y: FloatArray

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def tail(self, n: int) -> Series:
        return Series(self.ts[-n:], self.y[-n:]) if n < len(self) else self


@dataclass(frozen=True)
class Band:
    """A forecast or in-sample band: ``mean`` plus ``lo``/``hi`` per level (percent)."""

    ts: IntArray
    mean: FloatArray
    lo: Mapping[float, FloatArray] = field(default_factory=dict)
    hi: Mapping[float, FloatArray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @property
    def levels(self) -> list[float]:
        return sorted(self.lo)

    def columns(self) -> dict[str, FloatArray]:
        """Nixtla-named columns: ``mean``, ``lo-95``, ``hi-95``..."""
        cols: dict[str, FloatArray] = {"mean": self.mean}
        for level in self.levels:
            cols[f"lo-{level_label(level)}"] = self.lo[level]
            cols[f"hi-{level_label(level)}"] = self.hi[level]
        return cols

    def slice(self, start: int, stop: int) -> Band:
        return Band(
            self.ts[start:stop],
            self.mean[start:stop],
            {k: v[start:stop] for k, v in self.lo.items()},
            {k: v[start:stop] for k, v in self.hi.items()},
        )


@dataclass(frozen=True)
class Forecast:
    """What a forecaster returns: the band and which model actually produced it."""

    band: Band
    model_used: str
    degraded: bool = False


@dataclass(frozen=True)
class Scored:
    """Points scored against a band, column-wise. ``direction``: 1 up, -1 down, 0 inside."""

    ts: IntArray
    value: FloatArray
    expected: FloatArray
    lo: FloatArray
    hi: FloatArray
    is_anomaly: BoolArray
    direction: npt.NDArray[np.int8]
    score: FloatArray
    severity: FloatArray

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def take(self, idx: npt.NDArray[Any] | slice) -> Scored:
        return Scored(
            self.ts[idx],
            self.value[idx],
            self.expected[idx],
            self.lo[idx],
            self.hi[idx],
            self.is_anomaly[idx],
            self.direction[idx],
            self.score[idx],
            self.severity[idx],
        )

    @staticmethod
    def concat(parts: Sequence[Scored]) -> Scored:
        if not parts:
            return unscored(np.empty(0, np.int64), np.empty(0, np.float64))
        return Scored(*(np.concatenate([getattr(p, f) for p in parts]) for f in _SCORED_FIELDS))


_SCORED_FIELDS = (
    "ts",
    "value",
    "expected",
    "lo",
    "hi",
    "is_anomaly",
    "direction",
    "score",
    "severity",
)


def unscored(ts: IntArray, y: FloatArray) -> Scored:
    """Points with no band to compare against: expected/lo/hi are NaN, nothing flagged."""
    n = ts.shape[0]
    nan = np.full(n, np.nan)
    return Scored(
        ts,
        y,
        nan,
        nan.copy(),
        nan.copy(),
        np.zeros(n, bool),
        np.zeros(n, np.int8),
        np.zeros(n),
        np.zeros(n),
    )


def level_label(level: float) -> str:
    """95.0 → '95', 99.5 → '99.5' (Nixtla's column naming)."""
    return str(int(level)) if float(level).is_integer() else repr(float(level))


def check_levels(levels: Iterable[float]) -> list[float]:
    out: list[float] = []
    for level in levels:
        if not isinstance(level, int | float) or not math.isfinite(level) or not 0 < level < 100:
            raise InvalidInput(f"level must be a number in (0, 100), got {level!r}")
        out.append(float(level))
    if not out:
        raise InvalidInput("levels must not be empty")
    return sorted(set(out))


# --------------------------------------------------------------------------- parsing

_SERIES_ID = re.compile(r"[A-Za-z0-9_.:=,-]{1,200}")
_SERIES_ID_BAD = re.compile(r"[^A-Za-z0-9_.:=,-]")


def check_series_id(series_id: str) -> str:
    """1–200 characters of ``[A-Za-z0-9_.:=,-]``: safe in URL paths and Redis hash tags."""
    if not _SERIES_ID.fullmatch(series_id):
        if not series_id or len(series_id) > 200:
            raise InvalidInput(f"series id must be 1-200 characters long, got {len(series_id)}")
        bad = sorted(set(_SERIES_ID_BAD.findall(series_id)))
        raise InvalidInput(
            f"series id {series_id[:40]!r} has characters outside [A-Za-z0-9_.:=,-]: "
            + " ".join(repr(c) for c in bad[:10])
        )
    return series_id


def to_series_id(text: str) -> str:
    """Map any label text to a valid series id (integrations): other characters → '_'."""
    mapped = _SERIES_ID_BAD.sub("_", text)[:200]
    return mapped or "_"


def parse_timestamp(raw: object, index: int | None = None) -> int:
    """RFC 3339 / ISO 8601 string (no offset = UTC) or epoch seconds → epoch ms."""
    where = f"point {index}: " if index is not None else ""
    if isinstance(raw, bool):
        raise InvalidInput(f"{where}timestamp must be a string or a number, got a boolean")
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            raise InvalidInput(f"{where}timestamp must be finite, got {raw!r}")
        if abs(raw) > 1e12:  # ~ year 33658: out of range, and raw * 1000 may overflow to inf
            raise InvalidInput(f"{where}timestamp {raw!r} is out of range")
        ms = round(raw * MS_PER_S)
        if not -62_135_596_800_000 <= ms <= 253_402_300_799_000:
            raise InvalidInput(f"{where}timestamp {raw!r} is out of range")
        return int(ms)
    if isinstance(raw, str):
        text = raw.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"{where}cannot parse timestamp {raw!r}: use RFC 3339 "
                "(2024-01-01T00:00:00Z) or epoch seconds"
            ) from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return round(dt.timestamp() * MS_PER_S)
    raise InvalidInput(f"{where}timestamp must be a string or a number, got {type(raw).__name__}")


def parse_value(raw: object, index: int | None = None) -> float:
    where = f"point {index}: " if index is not None else ""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        shown = "null" if raw is None else type(raw).__name__
        raise InvalidInput(f"{where}value must be a finite number, got {shown}")
    value = float(raw)
    if not math.isfinite(value):
        raise InvalidInput(f"{where}value must be a finite number, got {value}")
    return value


def parse_points(points: Sequence[object]) -> tuple[IntArray, FloatArray]:
    """``[[t, v], ...]`` or ``[{"timestamp": t, "value": v}, ...]`` → (ts_ms, values).

    Raises InvalidInput naming the first bad point; nothing is partially returned.
    """
    n = len(points)
    ts = np.empty(n, np.int64)
    ys = np.empty(n, np.float64)
    for i, point in enumerate(points):
        if isinstance(point, list | tuple):
            if len(point) != 2:
                raise InvalidInput(
                    f"point {i}: expected [timestamp, value], got {len(point)} items"
                )
            t, v = point
        elif isinstance(point, Mapping):
            if "timestamp" not in point or "value" not in point:
                raise InvalidInput(f"point {i}: expected keys 'timestamp' and 'value'")
            t, v = point["timestamp"], point["value"]
        else:
            raise InvalidInput(
                f"point {i}: expected [timestamp, value] or {{timestamp, value}}, "
                f"got {type(point).__name__}"
            )
        ts[i] = parse_timestamp(t, i)
        ys[i] = parse_value(v, i)
    return ts, ys


def format_ts(ms: int | np.integer[Any]) -> str:
    """Epoch ms → RFC 3339 UTC string (seconds, or milliseconds when not whole)."""
    ms = int(ms)
    dt = datetime.fromtimestamp(ms / MS_PER_S, tz=UTC)
    # the year padded by hand: strftime's %Y writes year 999 as '999', not RFC 3339
    stamp = f"{dt.year:04d}" + dt.strftime("-%m-%dT%H:%M:%S")
    if ms % MS_PER_S:
        return stamp + f".{ms % MS_PER_S:03d}Z"
    return stamp + "Z"


# --------------------------------------------------------------------------- cleaning


@dataclass(frozen=True)
class Cleaned:
    """A series after sorting and de-duplication, with what was done to it."""

    series: Series
    unsorted: bool
    duplicates: int


def clean(ts: IntArray, y: FloatArray) -> Cleaned:
    """Sort by time (stable) and keep the last value sent for a repeated timestamp."""
    unsorted = bool(ts.shape[0] > 1 and np.any(np.diff(ts) < 0))
    order = np.argsort(ts, kind="stable") if unsorted else np.arange(ts.shape[0])
    ts_s, y_s = ts[order], y[order]
    if ts_s.shape[0] > 1:
        last = np.ones(ts_s.shape[0], bool)
        last[:-1] = ts_s[1:] != ts_s[:-1]
        dupes = int(ts_s.shape[0] - last.sum())
        if dupes:
            ts_s, y_s = ts_s[last], y_s[last]
    else:
        dupes = 0
    return Cleaned(Series(ts_s, y_s), unsorted, dupes)


# --------------------------------------------------------------------------- frequency

_FREQ_UNITS = (
    (7 * _DAY_MS, "W"),
    (_DAY_MS, "D"),
    (3_600_000, "h"),
    (60_000, "min"),
    (1_000, "s"),
    (1, "ms"),
)


def freq_alias(step_ms: int) -> str:
    """5 min → '5min', 1 h → 'h', 1 day → 'D' (pandas offset aliases)."""
    for unit_ms, name in _FREQ_UNITS:
        if step_ms % unit_ms == 0:
            count = step_ms // unit_ms
            return name if count == 1 else f"{count}{name}"
    return f"{step_ms}ms"


_FREQ_RE = re.compile(r"\s*(\d+)?\s*([A-Za-z]+)\s*")
_FREQ_UNIT_MS = {
    "ms": 1,
    "l": 1,
    "s": 1_000,
    "sec": 1_000,
    "min": 60_000,
    "t": 60_000,
    "h": 3_600_000,
    "d": _DAY_MS,
    "w": 7 * _DAY_MS,
}


def parse_freq(freq: str) -> int:
    """A fixed-length pandas-style alias ('5min', 'h', '30s', 'D', '1W') → step in ms."""
    match = _FREQ_RE.fullmatch(freq) if isinstance(freq, str) else None
    unit = _FREQ_UNIT_MS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise InvalidInput(
            f"freq {freq!r} is not a fixed-length alias like '5min', '30s', 'h' or 'D'"
        )
    count = int(match.group(1) or 1)
    if count <= 0:
        raise InvalidInput(f"freq {freq!r} must be a positive duration")
    return count * unit


def infer_step_ms(ts: IntArray) -> int:
    """The series' sampling step: the most common gap between consecutive points."""
    if ts.shape[0] < 2:
        raise InvalidInput("at least 2 points are needed to infer the frequency; pass 'freq'")
    diffs = np.diff(ts)
    diffs = diffs[diffs > 0]
    if diffs.shape[0] == 0:
        raise InvalidInput("all timestamps are equal; cannot infer the frequency")
    values, counts = np.unique(diffs, return_counts=True)
    return int(values[np.argmax(counts)])


def season_length(step_ms: int) -> int:
    """The natural seasonal period: a day for sub-daily data, a week for daily data."""
    if step_ms < _DAY_MS and _DAY_MS % step_ms == 0:
        return _DAY_MS // step_ms
    if step_ms == _DAY_MS:
        return 7
    return 1


#: longest weekly season a model fits (steps): hourly and 30-minute data, not 5-minute
MAX_WEEKLY = 1_000


def seasons_for(step_ms: int, n: int) -> list[int]:
    """Seasonal periods a model should fit for ``n`` points at this step: the natural
    season once two of it are there, and a weekly one too when it is at most
    ``MAX_WEEKLY`` steps and two weeks are there (``stats`` fits them with MSTL; robust
    history and the Azure layer take out the same ones)."""
    daily = season_length(step_ms)
    if daily <= 1 or n < 2 * daily:
        return []
    out = [daily]
    weekly = 7 * daily if daily != 7 else 0
    if 0 < weekly <= MAX_WEEKLY and n >= 2 * weekly:
        out.append(weekly)
    return out


@dataclass(frozen=True)
class Regular:
    """A series on a regular grid, gaps filled by linear interpolation."""

    series: Series
    step_ms: int
    filled: int
    observed: BoolArray
    slots: IntArray  # grid index of each input point


def regularise(series: Series, step_ms: int, max_fill: int = 100_000) -> Regular:
    """Put ``series`` on the grid ``first + k·step``.

    Off-grid points snap to the nearest grid slot (last one wins); missing slots are
    filled by linear interpolation between their neighbours, and counted. Gaps whose
    fill would exceed ``max_fill`` slots raise InvalidInput (a wrong freq, most likely).
    """
    ts, y = series.ts, series.y
    if ts.shape[0] == 0:
        return Regular(series, step_ms, 0, np.zeros(0, bool), np.zeros(0, np.int64))
    slots = np.rint((ts - ts[0]) / step_ms).astype(np.int64)
    n = int(slots[-1]) + 1
    if n - ts.shape[0] > max_fill:
        raise InvalidInput(
            f"filling gaps at step {freq_alias(step_ms)} would add {n - ts.shape[0]} points; "
            "check 'freq'"
        )
    grid_y = np.full(n, np.nan)
    grid_y[slots] = y
    observed = ~np.isnan(grid_y)
    filled = int(n - observed.sum())
    if filled:
        idx = np.arange(n)
        grid_y = np.interp(idx, idx[observed], grid_y[observed])
    grid_ts = ts[0] + np.arange(n, dtype=np.int64) * step_ms
    return Regular(Series(grid_ts, grid_y), step_ms, filled, observed, slots)
