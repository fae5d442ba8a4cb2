"""A real ``redis-server`` for tests and benchmarks: started on a free port in a temp dir.

Never touches a server it did not start (in particular never the one on 6379).
Persistence is off by default (``--save "" --appendonly no``); ``appendonly=True``
turns on the AOF with ``appendfsync always`` so a restart keeps every acked write.
``stop()`` + ``start()`` restart the same server (same port, same dir) for outage tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    """A TCP port nobody listens on right now (never 6379)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port != 6379:
            return port


class RedisServer:
    """One redis-server process owned by the caller."""

    def __init__(self, *, appendonly: bool = False, port: int | None = None) -> None:
        self.appendonly = appendonly
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="tsad-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _argv(self) -> list[str]:
        argv = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.dir),
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", str(self.dir / "redis.log"),
        ]  # fmt: skip
        if self.appendonly:
            argv += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            argv += ["--appendonly", "no"]
        return argv

    def start(self, timeout_s: float = 10.0) -> RedisServer:
        """Start (or restart) the server and wait until it answers PING."""
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.proc = subprocess.Popen(
            self._argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.dir / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {log}")
            if self._answers_ping():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not answer within {timeout_s}s")

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server: SIGTERM (a clean shutdown) or SIGKILL with ``kill=True``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def cleanup(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def flushall(self) -> None:
        """Empty this server (ours, so this is allowed) between tests."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            reply = sock.recv(64)
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"FLUSHALL answered {reply!r}")


@contextlib.contextmanager
def redis_server(*, appendonly: bool = False) -> Iterator[RedisServer]:
    """Context manager: a started server, stopped and removed on exit."""
    server = RedisServer(appendonly=appendonly).start()
    try:
        yield server
    finally:
        server.cleanup()


def redis_available() -> bool:
    """Whether a redis-server binary is installed (tests skip loudly otherwise)."""
    return os.path.exists(REDIS_SERVER)


# ----------------------------------------------------------------------------- pytest fixtures
# Test modules import these names (``from tests.redis_server import redis_session, ...``)
# so pytest registers them there; nothing here touches a server it did not start.


@pytest.fixture(scope="session")
def redis_session() -> Iterator[RedisServer]:
    """One throwaway redis-server for the whole session (flushed between tests)."""
    if not redis_available():
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    with redis_server() as server:
        yield server


@pytest.fixture
def redis_url(redis_session: RedisServer) -> str:
    """The session server's URL, emptied before the test."""
    redis_session.flushall()
    return redis_session.url


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, for tests that stop and restart it."""
    if not redis_available():
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    with redis_server() as server:
        yield server
