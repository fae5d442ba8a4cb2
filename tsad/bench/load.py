"""``tsad bench load``: a bounded load generator for ``POST /v1/series/{id}/points``.

Loopback only. Starts ``tsad serve`` on a free port itself when no URL is
given. Four phases, each bounded in request count and wall time: single-point
posts at a fixed rate and flat out, 1,000-point batches at a fixed rate and
flat out. Reports points/s and p50/p95/p99 latency per phase.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from rich.console import Console
from rich.progress import Progress, TaskID

from tsad.bench import report
from tsad.errors import InvalidInput

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_STEP_S = 60
# concurrent in-flight requests when running flat out
_FLAT_OUT_WORKERS = 8


@dataclass(frozen=True)
class PhaseResult:
    phase: str
    requests: int
    errors: int
    points: int
    seconds: float
    points_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


def check_loopback(url: str) -> None:
    """Refuse anything but a loopback target: this tool generates load."""
    host = urlparse(url).hostname or ""
    if host not in _LOOPBACK:
        raise InvalidInput(f"bench load only targets loopback, not {host!r}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def local_server(timeout_s: float = 60.0, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start ``tsad serve`` on a free loopback port (``env``: its whole environment,
    default this one with a fresh data dir); stop it (SIGTERM) on exit."""
    import httpx

    port = free_port()
    # a store of its own (not the user's TSAD_DATA_DIR, which a running server may hold)
    data = tempfile.TemporaryDirectory(prefix="tsad-bench-")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsad", "serve", "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TSAD_DATA_DIR": data.name} if env is None else env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError("tsad serve exited before it was ready")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("tsad serve did not become ready in time")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        data.cleanup()


def _payloads(series: str, requests: int, size: int) -> list[tuple[str, dict[str, object]]]:
    """Request bodies with strictly increasing timestamps (no duplicates)."""
    t0 = 1_700_000_000
    rng = np.random.default_rng(0)
    out: list[tuple[str, dict[str, object]]] = []
    for r in range(requests):
        base = t0 + r * size * _STEP_S
        vals = 100.0 + rng.normal(0.0, 1.0, size)
        pts = [[base + k * _STEP_S, float(v)] for k, v in enumerate(vals)]
        out.append((f"/v1/series/{series}/points", {"points": pts, "freq": "min"}))
    return out


async def _phase(
    url: str,
    name: str,
    bodies: list[tuple[str, dict[str, object]]],
    rate: float | None,
    max_seconds: float,
    bar: Progress,
    task: TaskID,
) -> PhaseResult:
    import httpx

    latencies: list[float] = []
    errors = 0
    points = 0
    start = time.perf_counter()
    stop_at = start + max_seconds
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(bodies)):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=64)

    async def send(client: httpx.AsyncClient, i: int) -> None:
        nonlocal errors, points
        path, body = bodies[i]
        t = time.perf_counter()
        try:
            resp = await client.post(path, json=body)
            ok = resp.status_code == 200
        except httpx.HTTPError:
            ok = False
        latencies.append(time.perf_counter() - t)
        if ok:
            points += len(body["points"])  # type: ignore[arg-type]
        else:
            errors += 1
        bar.advance(task)

    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as client:
        if rate is None:

            async def worker() -> None:
                while not queue.empty() and time.perf_counter() < stop_at:
                    await send(client, queue.get_nowait())

            await asyncio.gather(*(worker() for _ in range(_FLAT_OUT_WORKERS)))
        else:
            pending: list[asyncio.Task[None]] = []
            for i in range(len(bodies)):
                due = start + i / rate
                if due > stop_at:
                    break
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                pending.append(asyncio.create_task(send(client, i)))
            await asyncio.gather(*pending)
    seconds = time.perf_counter() - start
    lat = np.asarray(latencies) * 1000.0 if latencies else np.zeros(1)
    p50, p95, p99 = (float(np.percentile(lat, q)) for q in (50, 95, 99))
    return PhaseResult(
        name, len(latencies), errors, points, seconds, points / seconds, p50, p95, p99
    )


def run_load(
    url: str | None,
    requests: int,
    batches: int,
    rate: float,
    max_seconds: float,
    out: Path,
    console: Console | None = None,
) -> list[PhaseResult]:
    """Run the four phases against ``url`` (or a server started here)."""
    console = console or Console()
    with contextlib.ExitStack() as stack:
        target = url or stack.enter_context(local_server())
        check_loopback(target)
        plan = [
            ("single @ rate", _payloads("load-single-rate", requests, 1), rate),
            ("single flat out", _payloads("load-single-flat", requests, 1), None),
            ("batch 1000 @ rate", _payloads("load-batch-rate", batches, 1000), rate / 10),
            ("batch 1000 flat out", _payloads("load-batch-flat", batches, 1000), None),
        ]
        results: list[PhaseResult] = []
        with Progress(console=console) as bar:
            for name, bodies, r in plan:
                task = bar.add_task(name, total=len(bodies))
                results.append(asyncio.run(_phase(target, name, bodies, r, max_seconds, bar, task)))
    header = ["phase", "requests", "errors", "points/s", "p50 ms", "p95 ms", "p99 ms"]
    rows: list[list[object]] = [
        [r.phase, r.requests, r.errors, r.points_per_s, r.p50_ms, r.p95_ms, r.p99_ms]
        for r in results
    ]
    console.print(report.table("tsad bench load (loopback)", header, rows))
    payload = {
        "url": url or "started locally",
        "rate": rate,
        "phases": [asdict(r) for r in results],
    }
    report.write_json(out / "load.json", payload)
    return results
