"""Time from starting ``tsad serve`` to its first 200 from ``GET /ready``.

Each run starts a fresh process on a free port, polls ``/ready`` every 10 ms and
stops the server with SIGTERM. The peer, measured in the same run the same way,
is a bare Litestar app with one ``/ready`` route under uvicorn: the floor that
Python, Litestar and uvicorn set before tsad adds anything. Also timed:
``tsad --help`` (the CLI's own import cost).

    nice python benchmarks/bench_serve_ready.py [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

PEER_APP = """
import sys, uvicorn
from litestar import Litestar, get

@get("/ready")
async def ready() -> dict[str, str]:
    return {"status": "ready"}

uvicorn.run(Litestar([ready]), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc): model-pool workers are reaped after each run."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        frontier = [c for c, p in parents.items() if p in frontier]
        found += frontier
    return found


def time_to_ready(cmd: list[str], port: int, deadline_s: float = 120) -> float:
    """Seconds from spawning ``cmd`` until ``/ready`` answers 200; the process is then stopped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSAD_")}
    env["TSAD_DATA_DIR"] = tempfile.mkdtemp(prefix="tsad-bench-")  # a fresh embedded store
    url = f"http://127.0.0.1:{port}/ready"
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
    )
    children: list[int] = []
    try:
        while time.perf_counter() - start < deadline_s:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited with {proc.returncode} before ready")
            with (
                contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
                urllib.request.urlopen(url, timeout=1) as resp,
            ):
                if resp.status == 200:
                    return time.perf_counter() - start
            time.sleep(0.01)
        raise RuntimeError(f"{url} not ready within {deadline_s} s")
    finally:
        children = descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def time_help(tsad: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([*tsad, "--help"], stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("tsad")
    tsad = [str(script)] if script.exists() else [shutil.which("tsad") or "tsad"]

    with tempfile.TemporaryDirectory() as tmp:
        peer_file = Path(tmp) / "peer.py"
        peer_file.write_text(PEER_APP)
        tsad_t, peer_t = [], []
        # interleaved, so drifting machine load hits both alike
        for _ in range(args.runs):
            port = free_port()
            tsad_t.append(time_to_ready([*tsad, "serve", "--port", str(port)], port))
            port = free_port()
            peer_t.append(time_to_ready([sys.executable, str(peer_file), str(port)], port))
    help_t = time_help(tsad, args.runs)

    def show(name: str, xs: list[float]) -> None:
        runs = " ".join(f"{x:.2f}" for x in xs)
        print(f"{name:<34} median {statistics.median(xs):6.2f} s   runs: {runs}")

    print(f"cores: {os.cpu_count()}  runs: {args.runs}")
    show("tsad serve → first 200 /ready", tsad_t)
    show("peer: bare Litestar+uvicorn", peer_t)
    show("tsad --help", help_t)
    ratio = statistics.median(tsad_t) / statistics.median(peer_t)
    print(f"ratio tsad serve / bare Litestar: {ratio:.2f}")


if __name__ == "__main__":
    main()
