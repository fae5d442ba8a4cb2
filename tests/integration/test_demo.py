"""``tsad demo``: a live server fed the shipped sample, flagging its incidents on ingest."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.live_server import live_tsad
from tsad.samples import N_POINTS, SAMPLE_ID


def test_demo_serves_feeds_the_sample_and_prints_the_console_url(tmp_path: Path) -> None:
    """`tsad demo` stores the whole sample, flags the spike or outage live, prints the URL."""
    with live_tsad(tmp_path, command="demo") as (base, proc):
        out = next(tmp_path.glob("demo-*.out"))
        deadline = time.monotonic() + 240
        while "the sample:" not in out.read_text():
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.5)
        printed = out.read_text()
        assert f"{base}/console/series?id={SAMPLE_ID}" in printed
        info = httpx.get(f"{base}/v1/series/{SAMPLE_ID}", timeout=10).json()
        assert info["count"] == N_POINTS
        flagged = httpx.get(f"{base}/v1/series/{SAMPLE_ID}/anomalies", timeout=10).json()
        assert flagged["count"] >= 1
        assert f"posted {N_POINTS} points; {flagged['count']} flagged on ingest" in printed
