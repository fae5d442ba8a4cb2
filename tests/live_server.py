"""A real ``tsad serve`` (or ``tsad demo``) process on a free port, for tests that
need a live server: the browser tests and the README examples."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.integration.cli_helpers import clean_env, tsad_command
from tests.integration.test_cli_serve import descendants, free_port, reap, wait_for


@contextlib.contextmanager
def live_tsad(
    log_dir: Path, *args: str, command: str = "serve", **env: str
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Start ``tsad COMMAND --port P ARGS`` with ``env``; yield its base URL and process."""
    port = free_port()
    out_path, err_path = log_dir / f"{command}-{port}.out", log_dir / f"{command}-{port}.err"
    # files, not pipes: a model-pool child holding a pipe open would hang a read
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            [*tsad_command(), command, "--port", str(port), *args],
            stdout=out,
            stderr=err,
            text=True,
            env=clean_env(**env),
        )
    base = f"http://127.0.0.1:{port}"
    children: list[int] = []
    try:
        wait_for(f"{base}/health", proc)
        yield base, proc
    finally:
        children = descendants(proc.pid)
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reap(children)
