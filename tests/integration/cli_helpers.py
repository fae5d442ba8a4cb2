"""Helpers for the CLI tests: run the installed ``tsad`` console script in a
subprocess and write small seeded series files."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

T0 = pd.Timestamp("2024-01-01", tz="UTC")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def tsad_command() -> list[str]:
    """The console script installed beside this Python, else ``python -m tsad``."""
    script = Path(sys.executable).with_name("tsad")
    if script.exists():
        return [str(script)]
    found = shutil.which("tsad")
    return [found] if found else [sys.executable, "-m", "tsad"]


_DATA_ROOT: list[Path] = []


def fresh_data_dir() -> str:
    """A new empty directory for one process's embedded store (removed at exit)."""
    if not _DATA_ROOT:
        _DATA_ROOT.append(Path(tempfile.mkdtemp(prefix="tsad-test-data-")))
        atexit.register(shutil.rmtree, _DATA_ROOT[0], True)
    return tempfile.mkdtemp(dir=_DATA_ROOT[0])


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any TSAD_* setting, plus ``extra``; a `tsad serve`
    started with it gets a fresh data dir unless ``extra`` names one (never the user's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSAD_")}
    env["TSAD_DATA_DIR"] = fresh_data_dir()
    env.update(extra)
    return env


def run_tsad(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run ``tsad ARGS`` to completion, capturing text output."""
    return subprocess.run(
        [*tsad_command(), *map(str, args)],
        capture_output=True,
        text=True,
        env=env or clean_env(),
        timeout=timeout,
        check=False,
    )


def seasonal(n: int, seed: int, spike_at: int | None = None) -> np.ndarray:
    """Hourly values with a daily cycle and noise; optionally one large spike."""
    rng = np.random.default_rng(seed)
    hours = np.arange(n)
    y = 100 + 20 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 1.0, n)
    if spike_at is not None:
        y[spike_at] += 60
    return y


def hourly_stamps(n: int) -> list[str]:
    return [(T0 + pd.Timedelta(hours=i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(n)]


def write_nab(path: Path, n: int = 336, seed: int = 1, spike_at: int | None = 250) -> Path:
    """A NAB-style ``timestamp,value`` CSV of ``n`` hourly points."""
    pd.DataFrame({"timestamp": hourly_stamps(n), "value": seasonal(n, seed, spike_at)}).to_csv(
        path, index=False
    )
    return path


def write_long(path: Path, ids: tuple[str, ...] = ("a", "b", "c"), n: int = 240) -> Path:
    """A Nixtla long-format ``unique_id,ds,y`` CSV, one spiked series per id."""
    frames = [
        pd.DataFrame(
            {"unique_id": sid, "ds": hourly_stamps(n), "y": seasonal(n, i + 10, spike_at=200)}
        )
        for i, sid in enumerate(ids)
    ]
    pd.concat(frames).to_csv(path, index=False)
    return path


def assert_png(path: Path) -> None:
    """``path`` is a non-empty PNG file."""
    data = path.read_bytes()
    assert len(data) > len(PNG_MAGIC)
    assert data.startswith(PNG_MAGIC)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    """A failed run printed exactly one line, mentioning ``needle``, and no traceback."""
    assert proc.returncode in (1, 2), proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("tsad: error: ")
    assert needle in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout


def descendants(pid: int) -> list[int]:
    """Pids of every process below ``pid`` (from /proc), so none outlives the test."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        kids = [child for child, parent in parents.items() if parent in frontier]
        found += kids
        frontier = kids
    return found
