"""The embedded store (SQLite WAL, group commit) against the memory buffer, same run.

1. In-process ingest: ``TsadService.ingest`` (the hot path: append, score against a
   stored band, record anomalies) in 1,000-point batches, memory vs embedded; and
   ``Buffer.append`` alone; best of ``--rounds`` interleaved rounds (the machine is
   shared). Then 50 series calling ``Buffer.append`` concurrently (group commit).
2. Event-loop lag while the embedded store ingests flat out (a 1 ms ticker's worst gap).
3. Bytes per point on disk (database + WAL after close), regular 1-minute series in
   1,000-point batches, and the same points posted one at a time (head log folded).
4. The layout, chosen by measurement: rows (series, ts, value) WITHOUT ROWID against
   chunk blobs, SQLite alone, same points.
5. ``kill -9`` of a live ``tsad serve`` while 8 client threads post 100-point batches
   (some re-sending recent timestamps with new values): acknowledged points lost after
   a restart on the same data dir, and the restart's time to ``/ready`` (recovery);
   the same on Redis (``--only crash-redis``: its own redis-server, AOF fsync always).

    nice python3 benchmarks/bench_embedded.py [--points 200000] [--rounds 3] [--crash-points 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import SERIES, store_band, stream

from tsad.service import TsadService
from tsad.settings import ApiSettings, BufferSettings, ModelSettings, Settings

T0 = 1_700_000_000_000


def settings(backend: str, data: str | None) -> Settings:
    return Settings(
        buffer=BufferSettings(backend=backend, data_dir=data, max_points_per_series=50_000),
        models=ModelSettings(runner="thread"),
        api=ApiSettings(max_body_bytes=64 * 1024 * 1024),
    )


async def ingest_rate(backend: str, total: int, batch: int) -> tuple[float, float]:
    """(service.ingest points/s, buffer.append points/s) on a fresh store."""
    ts, y = stream(total)
    rates = []
    for mode in ("ingest", "append"):
        with tempfile.TemporaryDirectory() as data:
            service = TsadService(settings(backend, data))
            await store_band(service, total)
            started = time.perf_counter()
            for k in range(0, total, batch):
                if mode == "ingest":
                    await service.ingest(SERIES, ts[k : k + batch], y[k : k + batch])
                else:
                    await service.buffer.append(SERIES, ts[k : k + batch], y[k : k + batch])
            rates.append(total / (time.perf_counter() - started))
            await service.close()
    return rates[0], rates[1]


async def concurrent_rate(backend: str, series: int, batches: int, batch: int) -> float:
    with tempfile.TemporaryDirectory() as data:
        service = TsadService(settings(backend, data))

        async def feed(s: int) -> None:
            for b in range(batches):
                ts = T0 + (b * batch + np.arange(batch, dtype=np.int64)) * 60_000
                await service.buffer.append(f"c{s}", ts, np.sin(ts / 1e7))

        started = time.perf_counter()
        await asyncio.gather(*(feed(s) for s in range(series)))
        rate = series * batches * batch / (time.perf_counter() - started)
        await service.close()
    return rate


async def loop_lag(backend: str, total: int) -> float:
    """Worst gap (ms) of a 1 ms ticker while 8 tasks ingest 100-point batches."""
    with tempfile.TemporaryDirectory() as data:
        service = TsadService(settings(backend, data))
        done = asyncio.Event()
        worst = 0.0

        async def ticker() -> None:
            nonlocal worst
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                worst = max(worst, now - last - 0.001)
                last = now

        async def feed(s: int) -> None:
            for b in range(total // 800):
                ts = T0 + (b * 100 + np.arange(100, dtype=np.int64)) * 60_000
                await service.ingest(f"lag{s}", ts, np.ones(100))

        tick = asyncio.create_task(ticker())
        await asyncio.gather(*(feed(s) for s in range(8)))
        done.set()
        await tick
        await service.close()
    return worst * 1000


async def bytes_per_point(n_series: int, points: int, batch: int) -> float:
    with tempfile.TemporaryDirectory() as data:
        service = TsadService(settings("embedded", data))
        rng = np.random.default_rng(1)
        for b in range(points // batch):
            for s in range(n_series):
                ts = T0 + (b * batch + np.arange(batch, dtype=np.int64)) * 60_000
                await service.buffer.append(f"b{s}", ts, rng.normal(100, 5, batch).round(2))
        await service.close()
        size = sum(f.stat().st_size for f in Path(data).glob("tsad.sqlite3*"))
    return size / (n_series * points)


def layout_choice(n_series: int = 100, points: int = 10_000, batch: int = 1000) -> None:
    """The stored layout against the simple alternative, SQLite alone, one transaction
    per batch: rows (series, ts, value) in a WITHOUT ROWID table vs one blob per batch."""
    import sqlite3

    from tsad.buffer.chunks import encode

    rng = np.random.default_rng(2)
    print("\n## layout: rows vs chunk blobs (SQLite WAL, synchronous=NORMAL, same points)")
    print("| layout | points/s | bytes/point on disk |")
    print("|---|---:|---:|")
    for layout in ("rows (no, ts, y) WITHOUT ROWID", "chunk blobs (tsad.buffer.chunks)"):
        with tempfile.TemporaryDirectory() as data:
            conn = sqlite3.connect(f"{data}/t.db", isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            rows = layout.startswith("rows")
            if rows:
                conn.execute(
                    "CREATE TABLE p (no INTEGER, ts INTEGER, y REAL, PRIMARY KEY (no, ts))"
                    " WITHOUT ROWID"
                )
            else:
                conn.execute(
                    "CREATE TABLE c (no INTEGER, first INTEGER, last INTEGER, data BLOB,"
                    " PRIMARY KEY (no, first))"
                )
            started = time.perf_counter()
            for b in range(points // batch):
                for s in range(n_series):
                    ts = T0 + (b * batch + np.arange(batch, dtype=np.int64)) * 60_000
                    y = rng.normal(100, 5, batch).round(2)
                    conn.execute("BEGIN")
                    if rows:
                        conn.executemany(
                            "INSERT OR REPLACE INTO p VALUES (?, ?, ?)",
                            zip([s] * batch, ts.tolist(), y.tolist(), strict=True),
                        )
                    else:
                        conn.execute(
                            "INSERT INTO c VALUES (?, ?, ?, ?)",
                            (s, int(ts[0]), int(ts[-1]), encode(ts, y)),
                        )
                    conn.execute("COMMIT")
            rate = n_series * points / (time.perf_counter() - started)
            conn.close()
            size = sum(f.stat().st_size for f in Path(data).glob("t.db*"))
        print(f"| {layout} | {rate:,.0f} | {size / (n_series * points):.1f} |")


# --------------------------------------------------------------------------- kill -9


def crash(points_goal: int, redis_url: str | None = None) -> None:
    import httpx

    from tests.integration.serve_process import ServeProcess, epoch_ms

    with tempfile.TemporaryDirectory() as tmp:
        env = {"TSAD_DATA_DIR": f"{tmp}/data", "TSAD_RUNNER": "thread"}
        if redis_url:
            env["TSAD_REDIS_URL"] = redis_url
        log = Path(tmp) / "serve.log"
        server = ServeProcess(log, **env)
        workers = 8
        acked: list[dict[int, float]] = [{} for _ in range(workers)]
        unsure: list[dict[int, float]] = [{} for _ in range(workers)]
        stop = threading.Event()

        def load(w: int) -> None:
            rng, nxt = random.Random(w), 0
            with httpx.Client(base_url=server.base, timeout=30) as client:
                while not stop.is_set():
                    start = max(0, nxt - 50) if rng.random() < 0.1 else nxt
                    batch = [
                        [1_700_000_000 + 60 * i, rng.random()] for i in range(start, start + 100)
                    ]
                    sent = {
                        (1_700_000_000 + 60 * i) * 1000: v for i, (_, v) in enumerate(batch, start)
                    }
                    try:
                        r = client.post(f"/v1/series/k{w}/points", json={"points": batch})
                    except httpx.TransportError:
                        unsure[w] = sent
                        return
                    if r.status_code == 200:
                        acked[w].update(sent)
                        nxt = max(nxt, start + 100)

        threads = [threading.Thread(target=load, args=(w,)) for w in range(workers)]
        for t in threads:
            t.start()
        started = time.monotonic()
        while sum(map(len, acked)) < points_goal:
            time.sleep(0.01)
        server.proc.kill()
        rate = sum(map(len, acked)) / (time.monotonic() - started)
        stop.set()
        for t in threads:
            t.join()
        server.stop()
        again = ServeProcess(log, **env)
        lost = total = 0
        with httpx.Client(base_url=again.base, timeout=60) as client:
            for w in range(workers):
                body = client.get(f"/v1/series/k{w}/points").json()
                stored = {epoch_ms(p["timestamp"]): p["value"] for p in body["points"]}
                total += len(acked[w])
                lost += sum(
                    1
                    for t, v in acked[w].items()
                    if stored.get(t) != v and stored.get(t) != unsure[w].get(t)
                )
        again.stop()
        from tsad.buffer.embedded import EmbeddedBuffer

        open_s = 0.0
        if not redis_url:
            t = time.perf_counter()
            store = EmbeddedBuffer.open(BufferSettings(backend="embedded", data_dir=f"{tmp}/data"))
            open_s = time.perf_counter() - t
            asyncio.run(store.close())
        print(
            f"{'Redis (appendfsync always)' if redis_url else 'embedded'}: "
            f"kill -9 under load: {lost} of {total:,} acknowledged points lost "
            f"(load {rate:,.0f} acked points/s from {workers} clients); "
            f"restart to /ready {again.ready_s:.2f} s (first start {server.ready_s:.2f} s)"
            + (f"; opening the store alone {open_s * 1000:.0f} ms" if not redis_url else "")
        )


async def in_process(total: int, rounds: int) -> None:
    print("## in-process, 1,000-point batches, one series")
    print("| store | TsadService.ingest points/s | Buffer.append points/s |")
    print("|---|---:|---:|")
    got = {"memory": (0.0, 0.0), "embedded": (0.0, 0.0)}
    for _ in range(rounds):
        for backend in got:
            rate = await ingest_rate(backend, total, 1000)
            got[backend] = (max(got[backend][0], rate[0]), max(got[backend][1], rate[1]))
    for backend in got:
        print(f"| {backend} | {got[backend][0]:,.0f} | {got[backend][1]:,.0f} |")
    ratio = got["embedded"][0] / got["memory"][0], got["embedded"][1] / got["memory"][1]
    print(f"| **ratio embedded / memory** | **{ratio[0]:.2f}** | {ratio[1]:.2f} |")
    for batch, label in ((1000, "1,000-point"), (1, "single-point")):
        per = 4 if batch == 1000 else 400
        rates = {"memory": 0.0, "embedded": 0.0}
        for _ in range(rounds):
            for b in rates:
                rates[b] = max(rates[b], await concurrent_rate(b, 50, per, batch))
        print(
            f"\n50 series appending concurrently, {label} batches (best of {rounds}): "
            f"memory {rates['memory']:,.0f}, "
            f"embedded {rates['embedded']:,.0f} points/s "
            f"(ratio {rates['embedded'] / rates['memory']:.2f})"
        )
    lag = {b: await loop_lag(b, 200_000) for b in ("memory", "embedded")}
    print(
        f"\nevent-loop worst gap of a 1 ms ticker under 8 ingesting tasks: memory "
        f"{lag['memory']:.1f} ms, embedded {lag['embedded']:.1f} ms"
    )
    print(
        f"\nbytes per point on disk (db + WAL): 100 series x 50,000 points in 1,000-point "
        f"batches {await bytes_per_point(100, 50_000, 1000):.1f} B; 10 series x 5,000 "
        f"points posted one at a time {await bytes_per_point(10, 5_000, 1):.1f} B"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--crash-points", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("inproc", "layout", "crash", "crash-redis"))
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
    if args.only in (None, "inproc"):
        asyncio.run(in_process(args.points, args.rounds))
    if args.only in (None, "layout"):
        layout_choice()
    if args.only in (None, "crash"):
        crash(args.crash_points)
    if args.only in (None, "crash-redis"):
        from tests.redis_server import redis_server

        with redis_server(appendonly=True) as redis:
            crash(args.crash_points, redis.url)


if __name__ == "__main__":
    main()
