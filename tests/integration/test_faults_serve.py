"""`tsad serve` under hostile or interrupted traffic, as a real process on loopback:
SIGTERM during load (in-flight requests finish, no acknowledged point is lost, with
Redis fsyncing every write), and slow or oversized bodies that must not keep the
server from answering everyone else."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.serve_process import ServeProcess
from tests.redis_server import redis_available, redis_server
from tsad.buffer.redis import RedisBuffer
from tsad.settings import BufferSettings

T0 = 1_700_000_000
MAX_BODY = 65_536


class Served(ServeProcess):
    """One `tsad serve` process of the test's own (model fits in a thread, small bodies)."""

    def __init__(self, **env: str) -> None:
        self.data = tempfile.TemporaryDirectory(prefix="tsad-data-")
        defaults = {
            "TSAD_RUNNER": "thread",
            "TSAD_MAX_BODY_BYTES": str(MAX_BODY),
            "TSAD_DATA_DIR": self.data.name,
        }
        super().__init__(Path(self.data.name) / "serve.log", **{**defaults, **env})

    def raw(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=30)

    def stop(self) -> None:
        super().stop()
        self.data.cleanup()


@pytest.fixture
def served() -> Iterator[Served]:
    server = Served()
    yield server
    server.stop()


def _head(path: str, length: int | None, extra: str = "") -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: tsad\r\nContent-Type: application/json\r\n{size}{extra}\r\n"
    ).encode()


def _status(sock: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1])


def _points(start: int, n: int) -> list[list[float]]:
    return [[T0 + 60 * i, float(i % 17)] for i in range(start, start + n)]


@pytest.mark.skipif(not redis_available(), reason="redis-server is not installed")
def test_sigterm_during_load_finishes_in_flight_requests_and_loses_no_acked_point() -> None:
    """SIGTERM while appends stream in and one body is half-sent: that request still gets
    its 200, the process exits cleanly, and every acknowledged point is in Redis afterwards."""
    with redis_server(appendonly=True) as redis:
        server = Served(TSAD_REDIS_URL=redis.url)
        try:
            acked: dict[int, float] = {}
            errors: list[str] = []
            stop = threading.Event()

            def load(worker: int) -> None:
                start = worker * 1_000_000
                with httpx.Client(base_url=server.base, timeout=30) as client:
                    while not stop.is_set() and start < worker * 1_000_000 + 50_000:
                        batch = _points(start, 20)
                        try:
                            r = client.post(
                                f"/v1/series/load{worker}/points", json={"points": batch}
                            )
                        except httpx.TransportError:
                            return  # refused or closed once shutdown began: never acknowledged
                        if r.status_code == 200:
                            acked.update({int(t * 1000) * 10 + worker: v for t, v in batch})
                        else:
                            errors.append(f"{r.status_code} {r.text[:200]}")
                        start += 20

            threads = [threading.Thread(target=load, args=(w,)) for w in range(3)]
            for t in threads:
                t.start()
            while len(acked) < 600:
                time.sleep(0.05)
            # a request in flight: headers and half the body sent before SIGTERM
            body = json.dumps({"points": _points(0, 50)}).encode()
            sock = server.raw()
            sock.sendall(_head("/v1/series/inflight/points", len(body)) + body[: len(body) // 2])
            time.sleep(0.3)
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            sock.sendall(body[len(body) // 2 :])
            assert _status(sock) == 200
            sock.close()
            stop.set()
            for t in threads:
                t.join(timeout=30)
            # uvicorn re-raises the signal after its graceful shutdown
            assert server.proc.wait(timeout=40) in (0, -signal.SIGTERM)
            assert errors == []
            stored = asyncio.run(_stored(redis.url))
            missing = [k for k, v in acked.items() if stored.get(k) != v]
            assert missing == [] and len(acked) >= 600
            assert len(stored) >= len(acked) + 50  # the in-flight batch landed too
        finally:
            server.stop()


async def _stored(url: str) -> dict[int, float]:
    buf = RedisBuffer.from_settings(BufferSettings(redis_url=url))
    out: dict[int, float] = {}
    for info in await buf.list_series():
        window = await buf.window(info.series_id)
        tag = int(info.series_id[4:]) if info.series_id.startswith("load") else 9
        out.update(
            {t * 10 + tag: v for t, v in zip(window.ts.tolist(), window.y.tolist(), strict=True)}
        )
    await buf.close()
    return out


def test_slow_loris_connections_do_not_stop_others_being_served(served: Served) -> None:
    """Forty connections dribbling headers or bodies leave the server answering normal
    requests; the slow ones are still served correctly when they finish."""
    slow_heads, slow_bodies = [], []
    body = json.dumps({"points": _points(0, 5)}).encode()
    for _ in range(20):
        s = served.raw()
        s.sendall(b"POST /v1/series/slow/points HTTP/1.1\r\nHost: tsad\r\nContent-")
        slow_heads.append(s)
    for _ in range(20):
        s = served.raw()
        s.sendall(_head("/v1/series/slow/points", len(body)) + body[:10])
        slow_bodies.append(s)
    with httpx.Client(base_url=served.base, timeout=10) as client:
        for i in range(10):
            r = client.post("/v1/series/fast/points", json={"points": _points(i, 1)})
            assert r.status_code == 200
        assert client.get("/health").status_code == 200
    for s in slow_bodies:
        s.sendall(body[10:])
        assert _status(s) == 200
        s.close()
    for s in slow_heads:
        s.close()


def test_oversized_bodies_are_refused_without_being_read(served: Served) -> None:
    """A Content-Length over TSAD_MAX_BODY_BYTES is a 413 before any body byte is sent; a
    chunked body is cut off at the limit with 413; the server keeps serving."""
    sock = served.raw()
    sock.sendall(_head("/v1/series/big/points", 10**9))
    assert _status(sock) == 413
    sock.close()

    sock = served.raw()
    sock.sendall(_head("/v1/series/big/points", None, "Transfer-Encoding: chunked\r\n"))
    chunk = b"[" * 8192
    sent, status = 0, None
    sock.settimeout(10)
    try:
        while sent < 10 * MAX_BODY:
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sent += len(chunk)
    except OSError:
        pass  # the server answered and closed while we were still sending
    status = _status(sock)
    sock.close()
    assert status == 413
    assert httpx.get(served.base + "/health", timeout=10).status_code == 200
