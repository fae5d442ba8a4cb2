"""``tsad detect`` and ``tsad forecast`` run as the installed console script on
real files: outputs, plots, summaries, multi-series files and NAB's nyc_taxi."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.integration.cli_helpers import (
    T0,
    assert_png,
    run_tsad,
    write_long,
    write_nab,
)

NAB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nab"
NYC = "realKnownCause/nyc_taxi.csv"
DETECT_COLS = [
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
RFC3339_Z = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$"


def test_detect_nyc_taxi_flags_points_inside_labelled_windows(tmp_path: Path) -> None:
    """`tsad detect` on NAB nyc_taxi writes every point and flags some inside a labelled window."""
    if not (NAB / "data" / NYC).exists():
        pytest.skip("../shared/data/nab is not beside the checkout")
    out, png = tmp_path / "nyc.csv", tmp_path / "nyc.png"
    proc = run_tsad("detect", NAB / "data" / NYC, "--output", out, "--plot", png)
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(out)
    assert list(df.columns) == DETECT_COLS
    assert len(df) == len(pd.read_csv(NAB / "data" / NYC))
    assert df["timestamp"].str.match(RFC3339_Z).all()
    assert df["score"].between(0, 1).all()
    flagged = pd.to_datetime(df.loc[df["is_anomaly"], "timestamp"], utc=True)
    windows = json.loads((NAB / "labels" / "combined_windows.json").read_text())[NYC]
    inside = sum(
        int(flagged.between(pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC")).sum())
        for a, b in windows
    )
    assert inside >= 1
    assert_png(png)


def test_detect_summary_names_model_and_flags_the_spike(tmp_path: Path) -> None:
    """Without --output, detect prints the model used, the cleaning and the flagged spike."""
    src = write_nab(tmp_path / "cpu.csv", spike_at=250)
    proc = run_tsad("detect", src)
    assert proc.returncode == 0, proc.stderr
    assert "cpu: 336 points at h" in proc.stdout
    assert "model stats" in proc.stdout
    assert "cleaning: nothing to clean" in proc.stdout
    spike = (T0 + pd.Timedelta(hours=250)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert spike in proc.stdout


def test_detect_reports_duplicates_unsorted_and_gaps(tmp_path: Path) -> None:
    """Shuffled rows, a repeated timestamp and a missing hour are cleaned and reported."""
    src = write_nab(tmp_path / "messy.csv", spike_at=None)
    df = pd.read_csv(src).drop(index=100)
    df = pd.concat([df, df.iloc[[5]]]).sample(frac=1.0, random_state=3)
    df.to_csv(src, index=False)
    out = tmp_path / "out.csv"
    proc = run_tsad("detect", src, "--output", "-")
    assert proc.returncode == 0, proc.stderr
    assert "sorted by time" in proc.stderr
    assert "1 duplicate timestamps" in proc.stderr
    assert "1 gaps filled" in proc.stderr
    out.write_text(proc.stdout)
    scored = pd.read_csv(out)
    assert list(scored.columns) == DETECT_COLS
    assert len(scored) == 335  # distinct input timestamps, filled slots are not written
    assert scored["timestamp"].is_monotonic_increasing


def test_detect_online_mode_and_level(tmp_path: Path) -> None:
    """`--mode online` scores without look-ahead: the first points have no band (empty cells)."""
    src = write_nab(tmp_path / "s.csv")
    out = tmp_path / "o.csv"
    proc = run_tsad("detect", src, "--mode", "online", "--level", "95", "--output", out)
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(out)
    assert list(df.columns) == DETECT_COLS
    assert np.isnan(df["expected"].iloc[0])
    assert df["expected"].iloc[-1] == pytest.approx(df["value"].iloc[-1], rel=0.5)


def test_detect_long_format_three_series_output_and_plots(tmp_path: Path) -> None:
    """A long-format file with 3 series gives `unique_id` first and one PNG per series."""
    src = write_long(tmp_path / "many.csv", ids=("web-1", "web-2", "db:main"))
    out, png = tmp_path / "many_out.csv", tmp_path / "plots" / "many.png"
    png.parent.mkdir()
    proc = run_tsad("detect", src, "--output", out, "--plot", png)
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(out)
    assert list(df.columns) == ["unique_id", *DETECT_COLS]
    assert df["unique_id"].unique().tolist() == ["web-1", "web-2", "db:main"]
    assert (df.groupby("unique_id", sort=False).size() == 240).all()
    assert df.groupby("unique_id")["is_anomaly"].any().all()  # each series' spike is found
    for name in ("many-web-1.png", "many-web-2.png", "many-db_main.png"):
        assert_png(png.parent / name)
        assert name in proc.stderr  # the summary names the files it wrote
    assert "3/3" in proc.stderr  # the progress bar's final state


def test_detect_multi_series_skips_a_short_series(tmp_path: Path) -> None:
    """In a many-series file, a series below the minimum is skipped with a note; others written."""
    src = write_long(tmp_path / "many.csv", ids=("a", "b"))
    df = pd.read_csv(src)
    short = pd.DataFrame({"unique_id": "tiny", "ds": df["ds"].iloc[:5], "y": 1.0})
    pd.concat([df, short]).to_csv(src, index=False)
    out = tmp_path / "o.csv"
    proc = run_tsad("detect", src, "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert "skipped series tiny: need at least 12 distinct points, got 5" in proc.stderr
    assert pd.read_csv(out)["unique_id"].unique().tolist() == ["a", "b"]


def test_forecast_single_series_columns_and_horizon(tmp_path: Path) -> None:
    """`tsad forecast --h 24 --levels 80,95` writes 24 future rows `timestamp,mean,lo-80,...`."""
    src = write_nab(tmp_path / "s.csv", spike_at=None)
    out, png = tmp_path / "f.csv", tmp_path / "f.png"
    proc = run_tsad("forecast", src, "--h", "24", "--levels", "95,80", "--output", out,
                    "--plot", png)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(out)
    assert list(df.columns) == ["timestamp", "mean", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert len(df) == 24
    stamps = pd.to_datetime(df["timestamp"], utc=True)
    assert stamps.iloc[0] == T0 + pd.Timedelta(hours=336)
    assert (stamps.diff().dropna() == pd.Timedelta(hours=1)).all()
    assert df["timestamp"].str.match(RFC3339_Z).all()
    assert ((df["lo-95"] <= df["lo-80"]) & (df["lo-80"] <= df["mean"])).all()
    assert ((df["mean"] <= df["hi-80"]) & (df["hi-80"] <= df["hi-95"])).all()
    assert_png(png)


def test_forecast_summary_without_output(tmp_path: Path) -> None:
    """Without --output, forecast prints the model and a table of the future steps."""
    src = write_nab(tmp_path / "s.csv", spike_at=None)
    proc = run_tsad("forecast", src, "--h", "3")
    assert proc.returncode == 0, proc.stderr
    assert "3 steps ahead" in proc.stdout
    assert "lo-95" in proc.stdout
    assert (T0 + pd.Timedelta(hours=338)).strftime("%Y-%m-%dT%H:%M:%SZ") in proc.stdout


def test_forecast_long_format_three_series(tmp_path: Path) -> None:
    """Long format forecast: `unique_id,timestamp,mean,lo-L,hi-L`, h rows per series."""
    src = write_long(tmp_path / "many.csv")
    out = tmp_path / "f.csv"
    proc = run_tsad("forecast", src, "--h", "6", "--levels", "90", "--output", out)
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(out)
    assert list(df.columns) == ["unique_id", "timestamp", "mean", "lo-90", "hi-90"]
    assert df.groupby("unique_id", sort=False).size().to_dict() == {"a": 6, "b": 6, "c": 6}


def test_epoch_second_timestamps_and_python_m(tmp_path: Path) -> None:
    """`python -m tsad` reads epoch-second timestamps and writes RFC 3339 UTC."""
    import subprocess
    import sys

    from tests.integration.cli_helpers import clean_env

    src = tmp_path / "epoch.csv"
    start = int(T0.timestamp())
    pd.DataFrame(
        {"timestamp": [start + 3600 * i for i in range(48)], "value": np.arange(48.0) % 24}
    ).to_csv(src, index=False)
    proc = subprocess.run(
        [sys.executable, "-m", "tsad", "forecast", str(src), "--h", "2", "--output", "-"],
        capture_output=True, text=True, env=clean_env(), timeout=240, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[1].split(",")[0]
    assert first == "2024-01-03T00:00:00Z"


def test_parquet_in_and_out(tmp_path: Path) -> None:
    """A long-format Parquet file (datetime `ds`) is read, and `--output x.parquet` is Parquet."""
    pytest.importorskip("pyarrow")
    src = tmp_path / "many.parquet"
    df = pd.read_csv(write_long(tmp_path / "many.csv", ids=("p", "q")))
    df["ds"] = pd.to_datetime(df["ds"])  # naive datetimes: UTC
    df.to_parquet(src, index=False)
    out = tmp_path / "f.parquet"
    proc = run_tsad("forecast", src, "--h", "4", "--levels", "95", "--output", out)
    assert proc.returncode == 0, proc.stderr
    got = pd.read_parquet(out)
    assert list(got.columns) == ["unique_id", "timestamp", "mean", "lo-95", "hi-95"]
    assert got["unique_id"].tolist() == ["p"] * 4 + ["q"] * 4
    assert got["timestamp"].iloc[0] == (T0 + pd.Timedelta(hours=240)).strftime("%Y-%m-%dT%H:%M:%SZ")
