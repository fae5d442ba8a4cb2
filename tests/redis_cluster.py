"""A real 3-master Redis Cluster for tests and benchmarks, on free ports in a temp dir.

Three ``redis-server --cluster-enabled yes`` processes (no persistence, no replicas)
joined by ``redis-cli --cluster create``; ready once every node reports
``cluster_state:ok``. Never touches a server it did not start.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.redis_server import REDIS_SERVER, free_port, redis_available

REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


def _ask(port: int, command: bytes) -> bytes:
    """One inline command to one node; the whole (short) reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(command + b"\r\n")
        time.sleep(0.01)
        return sock.recv(65536)


class RedisClusterServers:
    """Three cluster-enabled redis-servers owned by the caller, joined into one cluster."""

    def __init__(self, masters: int = 3) -> None:
        self.ports: list[int] = []
        while len(self.ports) < masters:
            port = free_port()
            # the cluster bus listens on port + 10000: it must be free and below 65536
            if port not in self.ports and port + 10_000 < 65_536 and _free(port + 10_000):
                self.ports.append(port)
        self.dir = Path(tempfile.mkdtemp(prefix="tsad-redis-cluster-"))
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """The URL tsad takes for a cluster: any node, with the cluster scheme."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def _launch(self, port: int) -> subprocess.Popen[bytes]:
        node_dir = self.dir / str(port)
        node_dir.mkdir(exist_ok=True)
        argv = [
            REDIS_SERVER,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(node_dir),
            "--cluster-enabled", "yes",
            "--cluster-config-file", str(node_dir / "nodes.conf"),
            "--cluster-node-timeout", "2000",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--logfile", str(node_dir / "redis.log"),
        ]  # fmt: skip
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self, timeout_s: float = 20.0, *, form: bool = True) -> RedisClusterServers:
        """Start the nodes and (unless ``form=False``: nodes that know no cluster yet)
        join them into one cluster."""
        self.procs = [self._launch(port) for port in self.ports]
        deadline = time.monotonic() + timeout_s
        for port in self.ports:
            self._wait(lambda p=port: _answers(p, b"PING", b"+PONG"), deadline, "PING")
        if form:
            self.form(timeout_s)
        return self

    def form(self, timeout_s: float = 20.0) -> None:
        """Join the started nodes into one cluster and wait until every node says ok."""
        deadline = time.monotonic() + timeout_s
        create = [REDIS_CLI, "--cluster", "create"]
        create += [f"127.0.0.1:{p}" for p in self.ports] + ["--cluster-yes"]
        done = subprocess.run(create, capture_output=True, timeout=timeout_s, check=False)
        if done.returncode != 0:
            self.cleanup()
            raise RuntimeError(f"redis-cli --cluster create failed: {done.stdout[-2000:]!r}")
        self.wait_ok(deadline)

    def wait_ok(self, deadline: float) -> None:
        for port in self.ports:
            self._wait(
                lambda p=port: _answers(p, b"CLUSTER INFO", b"cluster_state:ok"),
                deadline,
                "state ok",
            )

    def stop_node(self, i: int) -> None:
        """SIGKILL node ``i`` (its slots are then served by nobody: no replicas)."""
        self.procs[i].kill()
        self.procs[i].wait(timeout=10)

    def start_node(self, i: int, timeout_s: float = 20.0) -> None:
        """Restart node ``i`` on its port and directory; it rejoins from nodes.conf."""
        self.procs[i] = self._launch(self.ports[i])
        self.wait_ok(time.monotonic() + timeout_s)

    def _wait(self, ready: Callable[[], bool], deadline: float, what: str) -> None:
        while time.monotonic() < deadline:
            if ready():
                return
            if any(p.poll() is not None for p in self.procs):
                self.cleanup()
                raise RuntimeError("a cluster redis-server exited during start")
            time.sleep(0.05)
        self.cleanup()
        raise RuntimeError(f"Redis Cluster did not reach {what} in time")

    def flushall(self) -> None:
        """Empty every master (ours, so this is allowed) between tests."""
        for port in self.ports:
            reply = _ask(port, b"FLUSHALL")
            if not reply.startswith(b"+OK"):
                raise RuntimeError(f"FLUSHALL on {port} answered {reply!r}")

    def keys_per_node(self) -> list[int]:
        """DBSIZE of each master, in port order."""
        return [int(_ask(port, b"DBSIZE")[1:].strip()) for port in self.ports]

    def cleanup(self) -> None:
        """Stop every node and remove the directory."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _answers(port: int, command: bytes, expected: bytes) -> bool:
    try:
        return expected in _ask(port, command)
    except OSError:
        return False


@contextlib.contextmanager
def redis_cluster() -> Iterator[RedisClusterServers]:
    """Context manager: a started 3-master cluster, stopped and removed on exit."""
    servers = RedisClusterServers().start()
    try:
        yield servers
    finally:
        servers.cleanup()


def cluster_available() -> bool:
    return redis_available() and Path(REDIS_CLI).exists()


@pytest.fixture(scope="session")
def redis_cluster_session() -> Iterator[RedisClusterServers]:
    """One throwaway 3-master Redis Cluster for the whole session (flushed between tests)."""
    if not cluster_available():
        pytest.skip("redis-server/redis-cli are not installed (apt-get install -y redis-server)")
    with redis_cluster() as servers:
        yield servers


@pytest.fixture
def redis_cluster_url(redis_cluster_session: RedisClusterServers) -> str:
    """The session cluster's URL (``redis+cluster://``), every master emptied first."""
    redis_cluster_session.flushall()
    return redis_cluster_session.url
