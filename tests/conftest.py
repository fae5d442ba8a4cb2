"""Shared test fixtures: paths to the shared benchmark data and small helpers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
NAB = SHARED / "data" / "nab"


def load_nab(rel: str) -> tuple[np.ndarray, np.ndarray]:
    """A NAB data file as (epoch ms, values)."""
    df = pd.read_csv(NAB / "data" / rel)
    ts = pd.to_datetime(df["timestamp"]).astype("int64").to_numpy() // 1_000_000
    return ts.astype(np.int64), df["value"].to_numpy(np.float64)


def nab_windows(rel: str) -> list[tuple[int, int]]:
    """The labelled anomaly windows of a NAB file, as inclusive epoch-ms pairs."""
    windows = json.loads((NAB / "labels" / "combined_windows.json").read_text())[rel]
    return [
        (int(pd.Timestamp(a).value // 1_000_000), int(pd.Timestamp(b).value // 1_000_000))
        for a, b in windows
    ]


@pytest.fixture
def nab_dir() -> Path:
    if not NAB.is_dir():
        pytest.skip("../shared/data/nab is not beside the checkout")
    return NAB
