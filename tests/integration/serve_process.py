"""A `tsad serve` process of a test's own, on a free loopback port, with the
environment the test gives it (no TSAD_* setting leaks in from outside)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx

from tests.integration.cli_helpers import fresh_data_dir
from tests.redis_server import free_port


class ServeProcess:
    """Starts `python -m tsad serve` and waits until /ready answers 200."""

    def __init__(self, log: Path, *args: str, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full = {k: v for k, v in os.environ.items() if not k.startswith("TSAD_")}
        full["TSAD_DATA_DIR"] = fresh_data_dir()
        full.update(env)
        self._log = log.open("a")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tsad", "serve", "--port", str(self.port), *args],
            env=full,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, log.read_text()
            try:
                if httpx.get(self.base + "/ready", timeout=1).status_code == 200:
                    self.ready_s = time.monotonic() - self.started
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError(f"tsad serve never became ready: {log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=20)
        self._log.close()


def epoch_ms(timestamp: str) -> int:
    """An RFC 3339 timestamp from a tsad answer as epoch milliseconds."""
    return round(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)
