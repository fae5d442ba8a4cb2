"""tsad.io without touching the disk: layout recognition, timestamp and value
parsing, and the exact output tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsad.errors import InvalidInput
from tsad.io import (
    detect_table,
    forecast_columns,
    forecast_table,
    format_timestamps,
    series_from_frame,
    to_epoch_ms,
    to_values,
)
from tsad.plot import plot_path
from tsad.series import Band, unscored

SRC = Path("in.csv")
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def text_frame(**cols: list[str]) -> pd.DataFrame:
    """A frame as read_csv(dtype=str, keep_default_na=False) gives it."""
    return pd.DataFrame(cols, dtype=str)


def test_nab_layout_is_one_series_without_id() -> None:
    """`timestamp,value` is read as one series with no id, naive timestamps as UTC."""
    df = text_frame(timestamp=["2024-01-01 00:00:00", "2024-01-01 01:00:00"], value=["1", "2.5"])
    f = series_from_frame(df, SRC)
    assert not f.long
    assert len(f.series) == 1
    s = f.series[0]
    assert s.series_id is None
    assert s.ts.tolist() == [T0, T0 + 3_600_000]
    assert s.y.tolist() == [1.0, 2.5]


def test_long_layout_splits_series_in_order_of_appearance() -> None:
    """`unique_id,ds,y` splits by id, keeping first-appearance order and row order."""
    df = text_frame(
        unique_id=["b", "a", "b", "a"],
        ds=["2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z", "1704070800"],
        y=["1", "10", "2", "20"],
    )
    f = series_from_frame(df, SRC)
    assert f.long
    assert [s.series_id for s in f.series] == ["b", "a"]
    assert f.series[0].y.tolist() == [1.0, 2.0]
    assert f.series[1].ts.tolist() == [T0, T0 + 3_600_000]


def test_column_names_are_case_and_space_insensitive_and_extras_ignored() -> None:
    """Header ` Timestamp ,VALUE,extra` is still the NAB layout."""
    df = text_frame(**{" Timestamp ": ["2024-01-01"], "VALUE": ["3"], "extra": ["x"]})
    assert series_from_frame(df, SRC).series[0].y.tolist() == [3.0]


def test_unknown_columns_name_both_accepted_layouts() -> None:
    """A file with other columns is rejected with the columns found and the layouts accepted."""
    with pytest.raises(InvalidInput, match=r"columns time,val; expected timestamp,value"):
        series_from_frame(text_frame(time=["1"], val=["2"]), SRC)


def test_a_wide_file_error_names_a_few_columns_not_all() -> None:
    """A 961-column file is rejected with its first columns and a count, not every name."""
    df = text_frame(**{f"sensor_{i}": ["1"] for i in range(961)})
    with pytest.raises(InvalidInput) as caught:
        series_from_frame(df, SRC)
    detail = caught.value.detail
    assert "sensor_0,sensor_1" in detail and "(953 more)" in detail
    assert "sensor_960" not in detail and len(detail) < 300


def test_header_only_is_rejected() -> None:
    """A header with no rows is an error, not an empty result."""
    with pytest.raises(InvalidInput, match="no rows"):
        series_from_frame(text_frame(timestamp=[], value=[]), SRC)


def test_offsets_are_converted_to_utc() -> None:
    """`+02:00` offsets are honoured; `Z` and naive both mean UTC."""
    col = pd.Series(["2024-01-01T02:00:00+02:00", "2024-01-01T00:00:00Z", "2024-01-01 00:00"])
    assert to_epoch_ms(col, SRC, "ds").tolist() == [T0, T0, T0]


def test_numeric_timestamps_are_epoch_seconds() -> None:
    """All-numeric timestamp columns are seconds since the epoch (fractions kept as ms)."""
    col = pd.Series(["1704067200", "1704067200.5"])
    assert to_epoch_ms(col, SRC, "ds").tolist() == [T0, T0 + 500]


def test_non_iso_dates_are_inferred() -> None:
    """Dates pandas can infer (US month/day) are accepted after ISO 8601 fails."""
    col = pd.Series(["01/02/2024 00:00", "01/03/2024 00:00"])
    assert to_epoch_ms(col, SRC, "ds").tolist() == [T0 + 86_400_000, T0 + 2 * 86_400_000]


def test_unparseable_timestamp_names_file_row_and_text() -> None:
    """A bad timestamp is reported with the file line (header = line 1) and the text."""
    col = pd.Series(["2024-01-01", "2024-01-02", "yesterday"])
    with pytest.raises(InvalidInput, match=r"in\.csv: row 4: cannot parse ds 'yesterday'"):
        to_epoch_ms(col, SRC, "ds")


def test_empty_timestamp_is_rejected() -> None:
    """An empty timestamp cell is an error naming its row."""
    with pytest.raises(InvalidInput, match="row 3: timestamp is empty"):
        to_epoch_ms(pd.Series(["2024-01-01", " "]), SRC, "timestamp")


def test_datetime_columns_from_parquet_are_used_as_is() -> None:
    """A datetime64 column (Parquet) is taken directly; naive means UTC."""
    col = pd.Series(pd.to_datetime(["2024-01-01 00:00", "2024-01-01 00:05"]))
    assert to_epoch_ms(col, SRC, "ds").tolist() == [T0, T0 + 300_000]


def test_empty_values_are_skipped_and_counted() -> None:
    """Empty/NA value cells are dropped from the series and counted as `dropped`."""
    df = text_frame(
        timestamp=["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 02:00"],
        value=["1", "", "NaN"],
    )
    s = series_from_frame(df, SRC).series[0]
    assert s.y.tolist() == [1.0]
    assert s.dropped == 2


def test_non_numeric_value_is_rejected() -> None:
    """Text in the value column is an error with its row, not a silent NaN."""
    with pytest.raises(InvalidInput, match=r"row 3: value 'abc' is not a number"):
        to_values(pd.Series(["1", "abc"]), SRC, "value")


def test_infinite_value_is_rejected() -> None:
    """`inf` values are rejected: no model can use them."""
    with pytest.raises(InvalidInput, match="row 2: y must be finite"):
        to_values(pd.Series(["inf"]), SRC, "y")


def test_timestamps_are_written_rfc3339_utc() -> None:
    """Whole seconds print as `...Z`; sub-second stamps keep their milliseconds."""
    assert format_timestamps(np.array([T0], np.int64)) == ["2024-01-01T00:00:00Z"]
    assert format_timestamps(np.array([T0 + 250], np.int64)) == ["2024-01-01T00:00:00.250Z"]


def test_detect_table_columns_exact_single_and_long() -> None:
    """Detect output is `timestamp,value,expected,lo,hi,is_anomaly,score,severity,direction`,
    with `unique_id` first for long format."""
    s = unscored(np.array([T0, T0 + 60_000], np.int64), np.array([1.0, 2.0]))
    single = detect_table([(None, s)])
    assert list(single.columns) == [
        "timestamp",
        "value",
        "expected",
        "lo",
        "hi",
        "is_anomaly",
        "score",
        "severity",
        "direction",
    ]
    assert single["is_anomaly"].dtype == bool
    long = detect_table([("a", s), ("b", s)])
    assert list(long.columns) == ["unique_id", *single.columns]
    assert long["unique_id"].tolist() == ["a", "a", "b", "b"]


def test_forecast_table_columns_follow_nixtla_naming() -> None:
    """Forecast output is `timestamp,mean,lo-L,hi-L` per level in ascending order."""
    ts = np.array([T0, T0 + 3_600_000], np.int64)
    band = Band(
        ts,
        np.array([1.0, 2.0]),
        {80.0: np.array([0.5, 1.5]), 95.0: np.array([0.0, 1.0])},
        {80.0: np.array([1.5, 2.5]), 95.0: np.array([2.0, 3.0])},
    )
    df = forecast_table([(None, band)], [95.0, 80.0])
    assert list(df.columns) == ["timestamp", "mean", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert df["lo-95"].tolist() == [0.0, 1.0]
    assert forecast_columns([99.5]) == ["timestamp", "mean", "lo-99.5", "hi-99.5"]
    long = forecast_table([("x", band)], [80.0, 95.0])
    assert list(long.columns) == ["unique_id", *df.columns]


def test_plot_path_per_series_is_file_safe() -> None:
    """One series plots to OUT itself; each series of many to OUT-stem-<id>.png, safe chars only."""
    base = Path("out/plot.png")
    assert plot_path(base, None) == base
    assert plot_path(base, "cpu:host=a/b") == Path("out/plot-cpu_host_a_b.png")
