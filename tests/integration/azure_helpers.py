"""A live ``tsad serve`` for the Azure-compatible tests, and NAB series in Azure's shape."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tests.conftest import load_nab
from tests.integration.cli_helpers import clean_env
from tests.integration.test_cli_serve import descendants, reap
from tsad.bench.load import local_server
from tsad.series import format_ts

AZURE_KEY = "azure-test-key"


@contextlib.contextmanager
def live_tsad(tmp: Path, **env: str) -> Iterator[str]:
    """``tsad serve`` on a free port with ``env``; yields its base URL, stops it after
    (with any model-pool process it started)."""
    before = set(descendants(os.getpid()))
    with local_server(90.0, env=clean_env(TSAD_DATA_DIR=str(tmp / "data"), **env)) as url:
        try:
            yield url
        finally:
            started = sorted(set(descendants(os.getpid())) - before)
    reap(started)  # model-pool workers the server left behind, if any


def azure_points(ts: np.ndarray, y: np.ndarray) -> list[dict[str, Any]]:
    """``[{"timestamp", "value"}]`` in Azure's shape (RFC 3339 UTC)."""
    return [
        {"timestamp": format_ts(int(t)), "value": float(v)}
        for t, v in zip(ts.tolist(), y.tolist(), strict=True)
    ]


def nab_azure(rel: str, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A NAB file's first ``n`` points (epoch ms, values)."""
    ts, y = load_nab(rel)
    return (ts[:n], y[:n]) if n else (ts, y)
