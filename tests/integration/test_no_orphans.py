"""No orphans: when `tsad serve` or `tsad worker` is killed with SIGKILL (no clean-up
runs), its model-pool processes and multiprocessing's resource tracker exit too."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.integration.cli_helpers import descendants
from tests.integration.serve_process import ServeProcess
from tests.redis_server import redis_available, redis_server
from tsad.buffer.redis import RedisBuffer
from tsad.queue.redis import RedisRefitQueue
from tsad.settings import BufferSettings, Settings


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for its new parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _children_then_kill(proc: subprocess.Popen[bytes], want: int) -> list[int]:
    """Wait until ``proc`` has ``want`` descendants (pool worker, resource tracker), then
    SIGKILL it; returns those descendants."""
    deadline = time.monotonic() + 90
    kids = descendants(proc.pid)
    while len(kids) < want:
        assert time.monotonic() < deadline, f"only {kids} below {proc.pid}"
        assert proc.poll() is None
        time.sleep(0.1)
        kids = descendants(proc.pid)
    proc.kill()
    proc.wait(timeout=10)
    return kids


def _assert_all_exit(pids: list[int]) -> None:
    deadline = time.monotonic() + 15
    while any(map(_alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [p for p in pids if _alive(p)]
    for pid in survivors:  # never leave them behind, even when the test fails
        os.kill(pid, 9)
    assert survivors == [], f"orphans left: {survivors}"


def test_kill_9_of_serve_leaves_no_model_process(tmp_path: Path) -> None:
    """SIGKILL of `tsad serve`: its model worker and resource tracker exit on their own."""
    server = ServeProcess(
        tmp_path / "serve.log", TSAD_DATA_DIR=str(tmp_path / "data"), TSAD_RUNNER="process"
    )
    kids = _children_then_kill(server.proc, 2)  # warm-up starts the pool in the background
    server.stop()
    _assert_all_exit(kids)


async def _queue_refit(url: str) -> None:
    buf = RedisBuffer.from_settings(BufferSettings(redis_url=url))
    ts = 1_700_000_000_000 + np.arange(300, dtype=np.int64) * 3_600_000
    await buf.append("cpu", ts, np.sin(np.arange(300) / 4.0) + 10)
    await buf.close()
    queue = RedisRefitQueue.from_settings(Settings(buffer=BufferSettings(redis_url=url)))
    assert await queue.schedule("cpu") is True
    await queue.close()


@pytest.mark.skipif(not redis_available(), reason="redis-server is not installed")
def test_kill_9_of_worker_leaves_no_model_process(tmp_path: Path) -> None:
    """SIGKILL of `tsad worker` while it refits: its model processes exit on their own."""
    with redis_server() as redis:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TSAD_")}
        env.update(TSAD_REDIS_URL=redis.url, TSAD_RUNNER="process")
        with (tmp_path / "worker.log").open("w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tsad", "worker", "--consumer", "doomed"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            asyncio.run(_queue_refit(redis.url))
            kids = _children_then_kill(proc, 2)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        _assert_all_exit(kids)
