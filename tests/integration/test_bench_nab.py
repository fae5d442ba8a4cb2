"""`tsad bench nab` end to end on a tiny NAB-layout tree, with the real online detector."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from tsad.bench.detector import OnlineDetector, forward_rows
from tsad.bench.nab import load_corpus, read_results
from tsad.bench.nab_run import run_nab
from tsad.detect.residual_score import residual_scores
from tsad.models.registry import ModelRegistry

N = 700


def _write_tree(root: Path, n: int = N) -> None:
    """Two hourly files: one with a level jump inside a window, one clean."""
    rng = np.random.default_rng(5)
    stamps = pd.date_range("2024-01-01", periods=n, freq="h")
    t = np.arange(n)
    base = 10 + 3 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.3, n)
    jump = base.copy()
    jump[500:] += 12.0
    fmt = "%Y-%m-%d %H:%M:%S"
    for folder, name, y in (("demo", "jump.csv", jump), ("demo", "calm.csv", base)):
        d = root / "data" / folder
        d.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"timestamp": stamps.strftime(fmt), "value": y}).to_csv(d / name, index=False)
    labels = {
        "demo/jump.csv": [
            [f"{stamps[480].strftime(fmt)}.000000", f"{stamps[530].strftime(fmt)}.000000"]
        ],
        "demo/calm.csv": [],
    }
    (root / "labels").mkdir(parents=True, exist_ok=True)
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels))


@pytest.fixture(scope="module")
def detector() -> OnlineDetector:
    return OnlineDetector(ModelRegistry().get("stats"), "tsad-stats")


def test_bench_nab_writes_results_layout_scores_and_plots(
    tmp_path: Path, detector: OnlineDetector
) -> None:
    """Results CSVs in NAB's layout, scores.json, report.md and one PNG per file are written."""
    data, out = tmp_path / "nab", tmp_path / "out"
    _write_tree(data)
    run = run_nab(data, detector, out, console=Console(quiet=True))
    csv = out / "tsad-stats" / "demo" / "tsad-stats_jump.csv"
    frame = pd.read_csv(csv)
    assert list(frame.columns) == ["timestamp", "value", "anomaly_score", "label"]
    assert frame["label"].sum() == 51
    assert ((frame["anomaly_score"] >= 0) & (frame["anomaly_score"] <= 1)).all()
    # full precision: the file reads back to the exact scores that were scored
    assert np.array_equal(read_results(csv), run.scores["demo/jump.csv"])
    scores = json.loads((out / "scores.json").read_text())
    assert set(scores["profiles"]) == {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}
    assert scores["profiles"]["standard"]["normalised"] == run.results["standard"].normalised
    assert (out / "report.md").read_text().startswith("# NAB")
    assert (out / "tsad-stats" / "demo" / "tsad-stats_calm.png").stat().st_size > 1000
    # the level jump is found inside its window
    assert run.results["standard"].per_file["demo/jump.csv"].tp == 1


def test_scores_of_a_truncated_file_equal_the_common_prefix(
    tmp_path: Path, detector: OnlineDetector
) -> None:
    """A row's anomaly_score depends only on rows up to it (NAB's causality rule)."""
    _write_tree(tmp_path)
    f = next(x for x in load_corpus(tmp_path).files if x.name == "jump.csv")
    full = detector.detect(f.ts, f.value)
    cut = 523  # inside the window, mid-refit
    part = detector.detect(f.ts[:cut], f.value[:cut])
    assert np.array_equal(full.score[:cut], part.score)
    assert np.array_equal(full.flags[:cut], part.flags)


def test_late_and_repeated_rows_are_left_unscored() -> None:
    """Rows stamped at or before an earlier row are not fed to the detector."""
    ts = np.array([1, 2, 2, 5, 4, 6], np.int64)
    assert forward_rows(ts).tolist() == [0, 1, 3, 5]


def test_residual_score_is_prefix_stable_and_ranks_a_record_highest() -> None:
    """The residual score uses only the past, and a record-breaking residual tops the ranking."""
    rng = np.random.default_rng(0)
    y = rng.normal(0, 1, 400)
    y[300] = 9.0
    mean, sigma = np.zeros(400), np.ones(400)
    full = residual_scores(y, mean, sigma)[0]
    assert np.array_equal(full[:250], residual_scores(y[:250], mean[:250], sigma[:250])[0])
    assert int(np.argmax(full)) == 300
    assert full[300] < 1.0  # no saturation: larger records would still rank higher
