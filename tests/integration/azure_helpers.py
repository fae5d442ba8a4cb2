"""A live ``tsad serve`` for the Azure-compatible tests, and NAB series in Azure's shape."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tests.conftest import load_nab
from tests.integration.cli_helpers import clean_env, tsad_command
from tests.integration.test_cli_serve import descendants, free_port, reap, wait_for
from tsad.series import format_ts


@contextlib.contextmanager
def live_tsad(tmp: Path, **env: str) -> Iterator[str]:
    """``tsad serve`` on a free port with ``env``; yields its base URL, stops it after."""
    port = free_port()
    log = (tmp / "serve.log").open("w")
    proc = subprocess.Popen(
        [*tsad_command(), "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env(TSAD_DATA_DIR=str(tmp / "data"), **env),
    )
    children: list[int] = []
    try:
        wait_for(f"http://127.0.0.1:{port}/health", proc)
        children = descendants(proc.pid)
        yield f"http://127.0.0.1:{port}"
    finally:
        children = sorted(set(children) | set(descendants(proc.pid)))
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reap(children)
        log.close()


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
