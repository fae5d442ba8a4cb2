"""Re-take the console screenshots in docs/ (used by the README):

    PYTHONPATH=$PWD python3 docs/screenshots.py

Starts ``tsad demo`` on a free port (the shipped sample, fed as an agent would),
posts two more small series so the list has rows to sort, then drives Debian's
Chromium with Playwright over each page. Needs nothing from the network.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from playwright.sync_api import sync_playwright

from tsad.demo import as_points
from tsad.samples import SAMPLE_CSV, T0

DOCS = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_demo(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tsad", "demo", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 300
    while "the sample:" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"tsad demo did not finish feeding:\n{log.read_text()}")
        time.sleep(0.5)
    return proc, f"http://127.0.0.1:{port}"


def more_series(base: str) -> None:
    rng = np.random.default_rng(5)
    ts = T0 + 600 * np.arange(600)
    latency = 12 + rng.gamma(2.0, 1.0, ts.shape[0])
    depth = np.maximum(0, np.cumsum(rng.normal(0, 1, ts.shape[0])) + 40)
    body = {
        "series": [
            {"series_id": "db.latency_ms", "points": as_points(ts, latency.round(2))},
            {"series_id": "queue.depth", "points": as_points(ts[:300], depth[:300].round(1))},
        ]
    }
    httpx.post(f"{base}/v1/points", json=body, timeout=30).raise_for_status()


def shoot(base: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"))
        page = browser.new_page(viewport={"width": 1280, "height": 330})
        page.goto(f"{base}/")
        page.wait_for_selector("body[data-loaded='1']", timeout=60_000)
        page.screenshot(path=DOCS / "console-list.png")
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{base}/console/series?id=web.requests")
        page.wait_for_selector("body[data-loaded='1']", timeout=120_000)
        page.fill("#h", "144")
        page.click("#forecast-button")
        page.wait_for_selector("#chart[data-forecast='144']", timeout=120_000)
        page.mouse.move(10, 10)
        page.screenshot(path=DOCS / "console-series.png", full_page=True)
        page.goto(f"{base}/console/csv")
        page.set_input_files("#file", str(SAMPLE_CSV))
        page.click("#run")
        page.wait_for_selector("body[data-result='detect']", timeout=120_000)
        page.screenshot(path=DOCS / "console-csv.png", full_page=True)
        page.goto(f"{base}/console/status")
        page.wait_for_selector("body[data-loaded='1']", timeout=30_000)
        page.screenshot(path=DOCS / "console-status.png", full_page=True)
        page.goto(f"{base}/schema")
        page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
        page.screenshot(path=DOCS / "api-docs.png")
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_demo(Path(tmp) / "demo.log")
        try:
            more_series(base)
            shoot(base)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    print("wrote", ", ".join(p.name for p in sorted(DOCS.glob("*.png"))))


if __name__ == "__main__":
    main()
