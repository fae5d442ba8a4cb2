"""Bad files, bad options and bad settings: one line on stderr, a non-zero exit
code (2 for input and configuration), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cli_helpers import assert_one_line_error, clean_env, run_tsad, write_nab


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("time,val\n2024-01-01,1\n", "expected timestamp,value (one series) or unique_id,ds,y"),
        ("timestamp,value\n2024-01-01,1\nnot-a-date,2\n", "row 3: cannot parse timestamp"),
        ("timestamp,value\n2024-01-01,1\n2024-01-02,abc\n", "row 3: value 'abc' is not a number"),
        ("", "the file is empty"),
        ("timestamp,value\n", "no rows"),
        (
            "timestamp,value\n" + "".join(f"2024-01-01 0{i}:00,{i}\n" for i in range(5)),
            "need at least 12 distinct points, got 5",
        ),
    ],
    ids=["columns", "timestamp", "value", "empty", "header-only", "too-few"],
)
def test_bad_file_gives_one_line_and_exit_2(tmp_path: Path, content: str, needle: str) -> None:
    """Each kind of bad file is named in one stderr line, exit code 2."""
    src = tmp_path / "bad.csv"
    src.write_text(content)
    proc = run_tsad("detect", src)
    assert_one_line_error(proc, needle)
    assert proc.returncode == 2


def test_missing_file(tmp_path: Path) -> None:
    """A path that does not exist is a one-line error, exit code 2."""
    proc = run_tsad("forecast", tmp_path / "nope.csv", "--h", "3")
    assert_one_line_error(proc, "no such file")
    assert proc.returncode == 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["detect", "{src}", "--level", "100"], "level must be a number in (0, 100)"),
        (["detect", "{src}", "--model", "prophet"], "unknown model 'prophet'"),
        (["detect", "{src}", "--freq", "fortnightly"], "freq 'fortnightly' is not"),
        (["forecast", "{src}", "--h", "0"], "--h must be between 1 and"),
        (["forecast", "{src}", "--h", "3", "--levels", "80,x"], "--levels must be numbers"),
    ],
    ids=["level", "model", "freq", "horizon", "levels"],
)
def test_bad_options_give_one_line_and_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    """Out-of-range levels, unknown models, bad freq and h ≤ 0 are one-line errors, exit 2."""
    src = write_nab(tmp_path / "ok.csv", n=48, spike_at=None)
    proc = run_tsad(*(a.replace("{src}", str(src)) for a in args))
    assert_one_line_error(proc, needle)
    assert proc.returncode == 2


def test_output_into_missing_directory(tmp_path: Path) -> None:
    """An --output path whose directory does not exist fails before work is lost, exit 2."""
    src = write_nab(tmp_path / "ok.csv", n=48, spike_at=None)
    proc = run_tsad("detect", src, "--output", tmp_path / "no" / "such" / "out.csv")
    assert_one_line_error(proc, "does not exist")


def test_bad_setting_in_environment(tmp_path: Path) -> None:
    """A bad TSAD_* variable is reported as a configuration error, exit 2."""
    src = write_nab(tmp_path / "ok.csv", n=48, spike_at=None)
    proc = run_tsad("detect", src, env=clean_env(TSAD_MIN_POINTS="lots"))
    assert_one_line_error(proc, "bad configuration: TSAD_MIN_POINTS must be an integer")
    assert proc.returncode == 2


def test_worker_without_redis_says_so() -> None:
    """`tsad worker` without TSAD_REDIS_URL explains that it needs Redis, exit 2."""
    proc = run_tsad("worker")
    assert_one_line_error(proc, "set TSAD_REDIS_URL")
    assert proc.returncode == 2
