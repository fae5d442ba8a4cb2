"""Single-point POST load on `tsad serve` against a bare Litestar app, same run.

The peer is the floor of the web stack: Litestar + uvicorn with one POST route that
decodes the same JSON body (msgspec) and answers a small JSON object. Load comes from
non-Python generators on loopback, sharing the machine's cores with the servers:

* ``hey`` at a fixed rate (``--rate`` req/s, 10 connections): p50 / p99 latency;
* ``wrk`` flat out (2 threads, 32 connections) with a Lua script that spreads posts
  over 50 series with a new timestamp on every request: req/s.

    nice python3 benchmarks/bench_http_load.py [--seconds 10] [--rate 500]
        [--buffers embedded,memory]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.serve_process import ServeProcess
from tests.redis_server import free_port

BARE_APP = """
import msgspec, uvicorn
from litestar import Litestar, post, get, Request

@post("/v1/series/{series_id:str}/points", status_code=200)
async def points(series_id: str, request: Request) -> dict:
    body = msgspec.json.decode(await request.body())
    return {"series_id": series_id, "accepted": len(body["points"])}

@get("/ready")
async def ready() -> dict:
    return {"status": "ok"}

uvicorn.run(Litestar([points, ready]), host="127.0.0.1", port=PORT, log_level="warning",
            access_log=False)
"""

WRK_LUA = """
counter = 0
request = function()
  counter = counter + 1
  local sid = "load" .. (counter % 50)
  local body = '{"points": [[' .. (1700000000 + counter * 60) .. ', ' .. (counter % 97) .. ']]}'
  return wrk.format("POST", "/v1/series/" .. sid .. "/points",
                    {["Content-Type"] = "application/json"}, body)
end
"""


class Bare:
    def __init__(self) -> None:
        import httpx

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        code = BARE_APP.replace("PORT", str(self.port))
        self.proc = subprocess.Popen([sys.executable, "-c", code])
        for _ in range(300):
            try:
                if httpx.get(self.base + "/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("bare app did not start")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def hey(base: str, seconds: int, rate: int) -> tuple[float, float, int]:
    """(p50 ms, p99 ms, non-2xx responses) at a fixed rate."""
    conns = 10
    out = subprocess.run(
        ["hey", "-z", f"{seconds}s", "-c", str(conns), "-q", str(rate / conns), "-m", "POST",
         "-T", "application/json", "-d", '{"points": [[1700000000, 1.0]]}',
         f"{base}/v1/series/hey/points"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    p50 = float(re.search(r"50% in ([\d.]+) secs", out).group(1)) * 1000  # type: ignore[union-attr]
    p99 = float(re.search(r"99% in ([\d.]+) secs", out).group(1)) * 1000  # type: ignore[union-attr]
    codes = re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)
    bad = sum(int(n) for code, n in codes if not code.startswith("2"))
    return p50, p99, bad


def wrk(base: str, seconds: int, script: Path) -> tuple[float, int]:
    """(req/s, non-2xx or socket errors) flat out."""
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", "32", "-d", f"{seconds}s", "-s", str(script), base],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    n_bad = int(bad.group(1)) if bad else 0
    n_bad += sum(int(g) for g in errors.groups()) if errors else 0
    return rps, n_bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--buffers", default="embedded,memory")
    parser.add_argument(
        "--no-refits",
        action="store_true",
        help="also run each store with refits off (TSAD_MIN_POINTS above any series): "
        "the request path alone, without the model fits that new series trigger",
    )
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(textwrap.dedent(WRK_LUA))
        rows = []
        bare = Bare()
        try:
            rows.append(("bare Litestar, 1 route", *hey(bare.base, args.seconds, args.rate),
                         *wrk(bare.base, args.seconds, script)))  # fmt: skip
        finally:
            bare.stop()
        runs = [(b, False) for b in args.buffers.split(",")]
        if args.no_refits:
            runs += [(b, True) for b in args.buffers.split(",")]
        for buffer, quiet in runs:
            extra = {"TSAD_MIN_POINTS": "100000000"} if quiet else {}
            server = ServeProcess(
                Path(tmp) / f"{buffer}-{quiet}.log",
                TSAD_BUFFER=buffer,
                TSAD_DATA_DIR=f"{tmp}/data-{buffer}-{quiet}",
                TSAD_RUNNER="process",
                **extra,
            )
            name = f"tsad serve, {buffer}" + (", no refits" if quiet else "")
            try:
                rows.append((name, *hey(server.base, args.seconds, args.rate),
                             *wrk(server.base, args.seconds, script)))  # fmt: skip
            finally:
                server.stop()
    floor = rows[0]
    print(f"| server | p50 ms @ {args.rate}/s | p99 ms | p99 / bare | errors | flat-out req/s "
          "| req/s / bare | errors |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, p50, p99, bad, rps, wbad in rows:
        print(f"| {name} | {p50:.2f} | {p99:.2f} | {p99 / floor[2]:.2f} | {bad} | {rps:,.0f} "
              f"| {rps / floor[4]:.2f} | {wbad} |")  # fmt: skip


if __name__ == "__main__":
    main()
