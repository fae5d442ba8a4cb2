"""Files in and out for the CLI: reading series from CSV/Parquet and writing
scored points and forecasts as tables.

Two input layouts are recognised by their columns (case-insensitive, extra
columns ignored): NAB style ``timestamp,value`` (one series) and Nixtla long
format ``unique_id,ds,y`` (many series). Timestamps are ISO 8601 / RFC 3339
strings (no offset means UTC) or numbers of seconds since the epoch. Every
problem with a file becomes an ``InvalidInput`` naming the file and, where it
helps, the row, so the CLI can print one line instead of a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tsad.errors import InvalidInput
from tsad.series import Band, BoolArray, FloatArray, IntArray, Scored, format_ts, level_label

PARQUET_SUFFIXES = (".parquet", ".pq")
DETECT_COLUMNS = (
    "timestamp",
    "value",
    "expected",
    "lo",
    "hi",
    "is_anomaly",
    "score",
    "severity",
    "direction",
)
_DIRECTION_TEXT = np.array(["down", "", "up"], dtype=object)
_HEADER_ROWS = 1  # file row numbers in messages count the header as row 1


@dataclass(frozen=True)
class SeriesData:
    """One series read from a file; ``series_id`` is None for a NAB-style file."""

    series_id: str | None
    ts: IntArray
    y: FloatArray
    dropped: int = 0  # rows whose value cell was empty, skipped


@dataclass(frozen=True)
class InputFile:
    """What a file held: its layout and its series in order of first appearance."""

    path: Path
    long: bool
    series: list[SeriesData]


# --------------------------------------------------------------------------- reading


def read_table(path: Path) -> pd.DataFrame:
    """Load a CSV or Parquet file into a DataFrame, turning every failure into InvalidInput."""
    if not path.exists():
        raise InvalidInput(f"{path}: no such file")
    if path.is_dir():
        raise InvalidInput(f"{path}: is a directory, expected a CSV or Parquet file")
    try:
        if path.suffix.lower() in PARQUET_SUFFIXES:
            return pd.read_parquet(path)
        # ids and timestamps stay text: parsed deliberately below, never guessed
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except ImportError as exc:
        raise InvalidInput(f"{path}: reading Parquet needs pyarrow ({exc})") from None
    except pd.errors.EmptyDataError:
        raise InvalidInput(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"{path}: cannot read the file: {first}") from None


def read_series_file(path: Path) -> InputFile:
    """Read ``path`` as a NAB-style or Nixtla long-format series file."""
    return series_from_frame(read_table(path), path)


def shown_columns(columns: Sequence[str], limit: int = 8) -> str:
    """Column names for an error message: the first ``limit``, then how many more."""
    if not columns:
        return "(none)"
    shown = ",".join(columns[:limit])
    more = len(columns) - limit
    return f"{shown},… ({more} more)" if more > 0 else shown


def series_from_frame(df: pd.DataFrame, path: Path) -> InputFile:
    """Recognise the layout of ``df`` by its columns and split it into series."""
    df = df.copy()
    df.columns = [str(c).strip().lower() for c in df.columns]
    cols = set(df.columns)
    if {"unique_id", "ds", "y"} <= cols:
        long, t_col, v_col = True, "ds", "y"
    elif {"timestamp", "value"} <= cols:
        long, t_col, v_col = False, "timestamp", "value"
    else:
        shown = shown_columns(list(map(str, df.columns)))
        raise InvalidInput(
            f"{path}: columns {shown}; expected timestamp,value (one series) "
            "or unique_id,ds,y (long format)"
        )
    if df.empty:
        raise InvalidInput(f"{path}: the file has a header but no rows")
    ts = to_epoch_ms(df[t_col], path, t_col)
    y, missing = to_values(df[v_col], path, v_col)
    if not long:
        keep = ~missing
        return InputFile(path, False, [SeriesData(None, ts[keep], y[keep], int(missing.sum()))])
    ids = df["unique_id"].astype(str).str.strip().to_numpy()
    empty = np.flatnonzero(ids == "")
    if empty.size:
        raise InvalidInput(f"{path}: row {_row(int(empty[0]))}: unique_id is empty")
    series: list[SeriesData] = []
    # sort=False keeps series in the order they first appear in the file
    for sid, idx in pd.Series(np.arange(len(ids))).groupby(ids, sort=False):
        rows = idx.to_numpy()
        keep = rows[~missing[rows]]
        series.append(SeriesData(str(sid), ts[keep], y[keep], int(missing[rows].sum())))
    return InputFile(path, True, series)


def to_epoch_ms(col: pd.Series, path: Path, name: str) -> IntArray:
    """A timestamp column → int64 epoch ms (strings: ISO 8601, naive = UTC; numbers: seconds).

    Each cell is taken on its own terms, so a column may mix the two forms (as the API does).
    """
    if pd.api.types.is_datetime64_any_dtype(col):
        stamps = pd.to_datetime(col, utc=True).to_numpy(dtype="datetime64[ns]")
        ns: IntArray = stamps.astype(np.int64)
        return ns // 1_000_000
    text = col.astype(str).str.strip()
    blank = np.flatnonzero((text == "").to_numpy())
    if blank.size:
        raise InvalidInput(f"{path}: row {_row(int(blank[0]))}: {name} is empty")
    secs: FloatArray = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
    is_num = ~np.isnan(secs)
    if np.isinf(secs).any():
        bad = int(np.flatnonzero(np.isinf(secs))[0])
        raise InvalidInput(f"{path}: row {_row(bad)}: {name} must be finite")
    ms: IntArray = np.zeros(len(text), np.int64)
    ms[is_num] = np.rint(secs[is_num] * 1000).astype(np.int64)
    if is_num.all():
        return ms
    strings = text[~is_num]
    parsed = pd.to_datetime(strings, utc=True, format="ISO8601", errors="coerce")
    failed = parsed.isna().to_numpy()
    if failed.any():
        # not all ISO 8601: let pandas infer each remaining entry (e.g. 07/01/2014 10:00)
        retry = pd.to_datetime(strings[failed], utc=True, format="mixed", errors="coerce")
        parsed = parsed.where(~failed, retry)
        still = np.flatnonzero(parsed.isna().to_numpy())
        if still.size:
            i = int(np.flatnonzero(~is_num)[still[0]])
            raise InvalidInput(
                f"{path}: row {_row(i)}: cannot parse {name} {text.iloc[i]!r}: use "
                "ISO 8601 (2024-01-01 00:00:00, 2024-01-01T00:00:00Z) or epoch seconds"
            )
    ms[~is_num] = parsed.to_numpy(dtype="datetime64[ns]").astype(np.int64) // 1_000_000
    return ms


def to_values(col: pd.Series, path: Path, name: str) -> tuple[FloatArray, BoolArray]:
    """A value column → float64, plus a mask of empty cells (those rows are skipped)."""
    if pd.api.types.is_numeric_dtype(col):
        y = col.to_numpy(np.float64)
        missing = np.isnan(y)
    else:
        text = col.astype(str).str.strip()
        missing = text.str.lower().isin(["", "nan", "na", "null", "none"]).to_numpy()
        y = pd.to_numeric(text.where(~missing, "nan"), errors="coerce").to_numpy(np.float64)
        bad = np.flatnonzero(np.isnan(y) & ~missing)
        if bad.size:
            i = int(bad[0])
            raise InvalidInput(f"{path}: row {_row(i)}: {name} {text.iloc[i]!r} is not a number")
    inf = np.flatnonzero(np.isinf(y))
    if inf.size:
        raise InvalidInput(f"{path}: row {_row(int(inf[0]))}: {name} must be finite")
    return y, missing


def _row(index: int) -> int:
    """0-based data index → the line number a user sees in the file (header = 1)."""
    return index + 1 + _HEADER_ROWS


# --------------------------------------------------------------------------- writing


def format_timestamps(ms: IntArray) -> list[str]:
    """Epoch ms → RFC 3339 UTC strings (vectorised when all are whole seconds)."""
    if ms.size and not np.any(ms % 1000):
        idx = pd.to_datetime(ms, unit="ms", utc=True)
        return list(idx.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return [format_ts(m) for m in ms]


def detect_table(results: Sequence[tuple[str | None, Scored]]) -> pd.DataFrame:
    """Scored points as ``timestamp,value,expected,lo,hi,is_anomaly,score,severity,direction``
    (+unique_id first; direction ``up``/``down`` on flagged points, empty otherwise)."""
    frames = []
    long = any(sid is not None for sid, _ in results)
    for sid, s in results:
        frame = pd.DataFrame(
            {
                "timestamp": format_timestamps(s.ts),
                "value": s.value,
                "expected": s.expected,
                "lo": s.lo,
                "hi": s.hi,
                "is_anomaly": s.is_anomaly.astype(bool),
                "score": s.score,
                "severity": s.severity,
                "direction": _DIRECTION_TEXT[s.direction.astype(np.int64) + 1],
            }
        )
        if long:
            frame.insert(0, "unique_id", sid)
        frames.append(frame)
    cols = (["unique_id"] if long else []) + list(DETECT_COLUMNS)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def forecast_columns(levels: Sequence[float]) -> list[str]:
    """``timestamp,mean,lo-L,hi-L...`` in level order (Nixtla naming)."""
    cols = ["timestamp", "mean"]
    for level in sorted(levels):
        cols += [f"lo-{level_label(level)}", f"hi-{level_label(level)}"]
    return cols


def forecast_table(
    results: Sequence[tuple[str | None, Band]], levels: Sequence[float]
) -> pd.DataFrame:
    """Forecast bands, one row per future step, ``timestamp,mean,lo-L,hi-L...`` (+unique_id)."""
    frames = []
    long = any(sid is not None for sid, _ in results)
    cols = forecast_columns(levels)
    for sid, band in results:
        data: dict[str, object] = {"timestamp": format_timestamps(band.ts)}
        data.update(band.columns())
        frame = pd.DataFrame(data)[cols]
        if long:
            frame.insert(0, "unique_id", sid)
        frames.append(frame)
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=(["unique_id"] if long else []) + cols)
    )


def check_destination(out: str | Path) -> None:
    """Fail before any work is done if ``out`` cannot be written (``-`` = stdout is fine)."""
    if str(out) == "-":
        return
    parent = Path(out).parent
    if not parent.is_dir():
        raise InvalidInput(f"{out}: the directory {parent} does not exist")


def write_table(df: pd.DataFrame, out: str) -> None:
    """Write ``df`` to ``out``: ``-`` is stdout (CSV), ``.parquet`` is Parquet, else CSV."""
    if out == "-":
        df.to_csv(sys.stdout, index=False, float_format="%.10g")
        return
    path = Path(out)
    check_destination(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        try:
            df.to_parquet(path, index=False)
        except ImportError as exc:
            raise InvalidInput(f"{out}: writing Parquet needs pyarrow ({exc})") from None
        return
    df.to_csv(path, index=False, float_format="%.10g")
