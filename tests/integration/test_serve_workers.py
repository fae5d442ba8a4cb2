"""`tsad serve --workers N`: several HTTP processes on one port over the shared Redis
store, none outliving the supervisor; refused with a clear message without Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.cli_helpers import descendants
from tests.integration.serve_process import ServeProcess
from tests.integration.test_no_orphans import _alive, _assert_all_exit
from tests.redis_server import redis_available, redis_server

pytestmark = pytest.mark.skipif(not redis_available(), reason="redis-server is not installed")

T0 = 1_700_000_000


def _workers_of(pid: int) -> list[int]:
    """The supervisor's direct children that run a tsad worker app (uvicorn's workers)."""
    found = []
    for child in descendants(pid):
        try:
            parent = int(Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if parent == pid:
            found.append(child)
    return found


def test_workers_share_the_redis_store_and_die_with_the_supervisor(tmp_path: Path) -> None:
    """Points posted through any worker are read back through any other; SIGKILL of the
    supervisor takes every worker (and their model pools) with it."""
    with redis_server() as redis:
        server = ServeProcess(
            tmp_path / "serve.log", "--workers", "2", TSAD_REDIS_URL=redis.url, TSAD_RUNNER="thread"
        )
        try:
            deadline = time.monotonic() + 60
            while len(_workers_of(server.proc.pid)) < 2:
                assert time.monotonic() < deadline, "the second worker never started"
                time.sleep(0.1)
            for i in range(40):  # a new connection each time: the kernel spreads them
                points = [[T0 + (i * 5 + k) * 60, float(k)] for k in range(5)]
                r = httpx.post(f"{server.base}/v1/series/w{i % 4}/points", json={"points": points})
                assert r.status_code == 200, r.text
            # one keep-alive connection is served by one worker, whose pid /v1/status
            # names: read every series back through each of the two workers
            seen: dict[int, list[int]] = {}
            for _ in range(200):
                with httpx.Client(base_url=server.base) as conn:
                    pid = conn.get("/v1/status").json()["pid"]
                    seen[pid] = [conn.get(f"/v1/series/w{s}").json()["count"] for s in range(4)]
                if len(seen) == 2:
                    break
            assert len(seen) == 2, f"answers came from {sorted(seen)} only"
            assert all(counts == [50, 50, 50, 50] for counts in seen.values()), seen
            kids = descendants(server.proc.pid)
            assert len(kids) >= 2
        finally:
            server.proc.kill()
            server.proc.wait(timeout=10)
            server.stop()
        _assert_all_exit(kids)
        assert not any(map(_alive, kids))


def test_workers_without_redis_are_refused(tmp_path: Path) -> None:
    """--workers 2 on the embedded store exits 2 and says why, before binding."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSAD_")}
    env["TSAD_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-m", "tsad", "serve", "--workers", "2", "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "needs TSAD_REDIS_URL" in done.stderr + done.stdout
