"""``tsad serve`` as a real process on a free port, and the CLI's import hygiene:
``tsad --help`` and ``import tsad.cli`` never load torch, neuralforecast or nixtla."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.cli_helpers import (
    assert_one_line_error,
    clean_env,
    descendants,
    run_tsad,
    tsad_command,
)
from tests.redis_server import redis_available, redis_server

HEAVY = ("torch", "neuralforecast", "nixtla", "statsforecast", "matplotlib", "uvicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def reap(pids: list[int]) -> None:
    """Terminate processes this test started that are still alive (model pool workers)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def wait_for(url: str, proc: subprocess.Popen[str], deadline_s: float = 90) -> httpx.Response:
    """Poll ``url`` until it answers 200 (fails early if the server exits)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        assert proc.poll() is None, "tsad serve exited before answering"
        try:
            resp = httpx.get(url, timeout=1.0)
            if resp.status_code == 200:
                return resp
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer 200 within {deadline_s} s")


def test_serve_answers_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    """`tsad serve --port P` prints its URL and buffer, answers /health, stops on SIGTERM."""
    port = free_port()
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    # files, not pipes: a model-pool child holding a pipe open would hang the read
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            [*tsad_command(), "serve", "--port", str(port), "--log-level", "info"],
            stdout=out,
            stderr=err,
            text=True,
            env=clean_env(TSAD_DATA_DIR=str(tmp_path / "data")),
        )
    children: list[int] = []
    try:
        resp = wait_for(f"http://127.0.0.1:{port}/health", proc)
        assert resp.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200
        children = descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reap(children)
    # uvicorn shuts down gracefully, then re-raises the signal it caught: exit status -15
    assert code in (0, -signal.SIGTERM), err_path.read_text()
    assert "Application shutdown complete" in err_path.read_text()
    printed = out_path.read_text()
    assert f"http://127.0.0.1:{port}" in printed
    assert f"buffer: embedded (SQLite in {tmp_path / 'data'}" in printed
    # the banner points at pages that exist
    assert (
        f"console: http://127.0.0.1:{port}/ · API docs: http://127.0.0.1:{port}/schema" in printed
    )


def test_serve_with_bad_setting_exits_2() -> None:
    """A bad TSAD_* setting stops `tsad serve` before it binds: one line, exit 2."""
    proc = run_tsad("serve", "--port", str(free_port()), env=clean_env(TSAD_DETECT_LEVEL="150"))
    assert_one_line_error(proc, "TSAD_DETECT_LEVEL must be in (0, 100)")
    assert proc.returncode == 2


def test_help_and_import_do_not_load_heavy_dependencies() -> None:
    """`tsad --help` and `import tsad.cli` leave torch, nixtla, statsforecast, uvicorn unloaded."""
    code = (
        "import sys\n"
        "from tsad.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "detect" in proc.stdout and "forecast" in proc.stdout and "serve" in proc.stdout
    assert "LOADED []" in proc.stdout


def test_version_and_bench_are_mounted() -> None:
    """`tsad --version` prints the version; `tsad bench --help` lists the benchmark commands."""
    proc = run_tsad("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("tsad 0.")
    bench = run_tsad("bench", "--help")
    assert bench.returncode == 0, bench.stderr
    assert "nab" in bench.stdout


def wait_for_text(
    path: Path, text: str, proc: subprocess.Popen[str], deadline_s: float = 90
) -> None:
    """Wait until ``text`` appears in the file a process writes to."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if text in path.read_text():
            return
        assert proc.poll() is None, path.read_text()
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not seen within {deadline_s} s: {path.read_text()}")


@pytest.mark.skipif(not redis_available(), reason="redis-server is not installed")
def test_worker_with_redis_runs_and_stops_on_sigterm(tmp_path: Path) -> None:
    """`tsad worker` with TSAD_REDIS_URL names its Redis, consumes, and stops cleanly on SIGTERM."""
    with redis_server() as redis:
        log = tmp_path / "worker.log"
        with log.open("w") as sink:
            proc = subprocess.Popen(
                [*tsad_command(), "worker", "--consumer", "cli-test"],
                stdout=sink,
                stderr=subprocess.STDOUT,
                text=True,
                env=clean_env(TSAD_REDIS_URL=redis.url),
            )
        children: list[int] = []
        try:
            wait_for_text(log, "worker cli-test started", proc)
            children = descendants(proc.pid)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            reap(children)
    text = log.read_text()
    assert code == 0, text
    assert f"buffer: Redis at {redis.url}" in text
    assert "worker cli-test stopped" in text
