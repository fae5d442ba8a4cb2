"""``tsad detect WIDE.csv --multivariate``: a wide CSV scored as one group, written
with contributors and drawn; ``tsad bench skab`` on a two-file SKAB-shaped folder."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tests.integration.cli_helpers import run_tsad
from tests.unit.test_multivariate import metrics


def test_detect_multivariate_writes_flags_contributors_and_a_plot(tmp_path: Path) -> None:
    """The fault rows are flagged with latency among the contributors, the normal start is not;
    the plot is a PNG."""
    v = metrics(400, fault=slice(320, 380))
    df = pd.DataFrame(v, columns=["cpu", "latency", "errors"])
    df.insert(0, "timestamp", pd.date_range("2024-01-01", periods=400, freq="min"))
    src, out, png = tmp_path / "wide.csv", tmp_path / "out.csv", tmp_path / "wide.png"
    df.to_csv(src, index=False)
    proc = run_tsad("detect", src, "--multivariate", "--output", out, "--plot", png)
    assert proc.returncode == 0, proc.stderr
    res = pd.read_csv(out)
    assert list(res.columns[:4]) == ["timestamp", "cpu", "latency", "errors"]
    assert res["is_anomaly"][340:380].all() and not res["is_anomaly"][:300].any()
    top2 = [c.split(":")[0] for c in res["contributors"][370].split(";")[:2]]
    assert "latency" in top2 and "errors" not in top2
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_skab_reports_every_detector(tmp_path: Path) -> None:
    """On SKAB-shaped files (;-separated, anomaly and changepoint labels), the bench reports
    F1/FAR/MAR, NAB profiles and costs for both detectors and the ratio to Isolation Forest."""
    for folder in ("a", "b"):
        v = metrics(700, seed=ord(folder), fault=slice(500, 600))
        df = pd.DataFrame(v, columns=["x1", "x2", "x3"])
        df.insert(0, "datetime", pd.date_range("2024-01-01", periods=700, freq="s"))
        df["anomaly"] = 0.0
        df.loc[500:599, "anomaly"] = 1.0
        df["changepoint"] = 0.0
        df.loc[[500, 600], "changepoint"] = 1.0
        (tmp_path / "data" / folder).mkdir(parents=True)
        df.to_csv(tmp_path / "data" / folder / "1.csv", sep=";", index=False)
    proc = run_tsad(
        "bench", "skab", "--data", tmp_path / "data", "--out", tmp_path / "out", "--time-rows", "50"
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "out" / "skab.json").read_text())
    for name in ("pca", "iforest"):
        d = report["detectors"][name]["default"]
        assert 0 <= d["f1"] <= 1 and set(d["nab"]) == {"standard", "low_fp", "low_fn"}
        assert d["online_us_per_row"] > 0
    assert report["detectors"]["pca"]["default"]["f1"] > 0.5
    assert "f1_ratio_to_iforest" in report["detectors"]["pca"]
