"""Soak with a non-Python generator: single-point posts at a paced rate for minutes.

Starts its own `tsad serve` (default embedded store, a fresh data dir) on a free port
and drives it with `wrk` and a Lua script: each request posts one new-timestamp point
to one of --series series (so series grow and get refitted, as in production), and
each connection waits ``--connections / --rate`` seconds between requests (wrk's
``delay()``), which paces the load near --rate req/s. Every 10 s it samples the
server's RSS (server plus its model processes). At the end it prints requests,
errors, the rate achieved, wrk's latency percentiles, and RSS after the warm-up
against the end.

    nice python3 benchmarks/soak_wrk.py                  # 10 minutes at ~500 req/s
    nice python3 benchmarks/soak_wrk.py --seconds 120    # shorter
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.soak import rss_mb
from tests.integration.serve_process import ServeProcess

LUA = """
counter = 0
local series = SERIES
local pause = PAUSE_MS
request = function()
  counter = counter + 1
  local sid = "soak" .. (counter % series)
  local t = 1700000000 + math.floor(counter / series) * 300
  local body = '{"points": [[' .. t .. ', ' .. (50 + 10 * math.sin(counter / series / 12)) .. ']]}'
  return wrk.format("POST", "/v1/series/" .. sid .. "/points",
                    {["Content-Type"] = "application/json"}, body)
end
delay = function()
  return pause
end
"""


def _script(series: int, pause_ms: float) -> Path:
    script = Path(tempfile.mkdtemp()) / "soak.lua"
    lua = LUA.replace("SERIES", str(series)).replace("PAUSE_MS", str(max(1, round(pause_ms))))
    script.write_text(textwrap.dedent(lua))
    return script


def _wrk(base: str, script: Path, connections: int, seconds: int) -> str:
    return subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
         "-s", str(script), base],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def _rps(out: str) -> float:
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--series", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=60, help="seconds before RSS counts")
    args = parser.parse_args()

    log = Path(tempfile.mkdtemp()) / "serve.log"
    server = ServeProcess(log)
    # pacing: each connection waits ``pause`` between requests; a 15 s calibration run
    # measures the request time, so that pause + request time ≈ connections / rate
    period_ms = 1000 * args.connections / args.rate
    script = _script(args.series, period_ms)
    trial = _wrk(server.base, script, args.connections, 15)
    request_ms = max(0.0, period_ms * args.rate / max(_rps(trial), 1.0) - period_ms)
    script = _script(args.series, period_ms - request_ms)
    print(f"calibration: {_rps(trial):,.0f} req/s at pause {period_ms:.1f} ms; "
          f"pause now {max(1.0, period_ms - request_ms):.1f} ms", flush=True)  # fmt: skip
    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample() -> None:
        start = time.monotonic()
        while not stop.wait(10):
            samples.append((time.monotonic() - start, rss_mb(server.proc.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        sampler.start()
        out = _wrk(server.base, script, args.connections, args.seconds)
    finally:
        stop.set()
        sampler.join()
        server.stop()
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = _rps(out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, sock.groups())) if sock else 0)
    lat = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", out, re.M))
    after = [mb for t, mb in samples if t >= args.warmup]
    print(f"wrk {args.connections} connections paced to ~{args.rate} req/s, {args.seconds} s, "
          f"{args.series} series (embedded store)")  # fmt: skip
    print(f"requests {total:,}, errors {errors}, achieved {rps:,.0f} req/s")
    print(f"latency p50 {lat.get('50')} p90 {lat.get('90')} p99 {lat.get('99')} (wrk's)")
    if after:
        first, last = after[0], after[-1]
        print(
            f"RSS after {args.warmup} s warm-up {first:.1f} MB → end {last:.1f} MB "
            f"({(last - first) / first * 100:+.1f}%), min {min(after):.1f}, max {max(after):.1f}"
        )


if __name__ == "__main__":
    main()
