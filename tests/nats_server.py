"""A real ``nats-server -js`` for tests and benchmarks: a free port, a temp store dir.

Never touches a server it did not start (in particular never the one on 4222).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import free_port

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


class NatsServer:
    """One JetStream-enabled nats-server owned by the caller."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="tsad-nats-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 10.0) -> NatsServer:
        log = (self.dir / "nats.log").open("wb")
        argv = [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.dir)]
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited: {(self.dir / 'nats.log').read_text()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock,
            ):
                if sock.recv(4096).startswith(b"INFO"):
                    return self
            time.sleep(0.05)
        self.cleanup()
        raise RuntimeError(f"nats-server on port {self.port} did not answer within {timeout_s}s")

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def nats_available() -> bool:
    return shutil.which(NATS_SERVER) is not None


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    """A nats-server -js of the test's own."""
    if not nats_available():
        pytest.skip("nats-server is not installed (apt-get install -y nats-server)")
    server = NatsServer().start()
    try:
        yield server
    finally:
        server.cleanup()
