"""`kill -9` of a live `tsad serve` on the embedded store while clients stream points:
after a restart on the same data dir (no manual step), every acknowledged point is
there with the value last acknowledged for it."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx

from tests.integration.cli_helpers import assert_one_line_error, clean_env, run_tsad
from tests.integration.serve_process import ServeProcess, epoch_ms
from tests.redis_server import free_port

T0 = 1_700_000_000
WORKERS = 4


def test_kill_9_under_load_loses_no_acknowledged_point(tmp_path: Path) -> None:
    """SIGKILL mid-load, restart: 0 acknowledged points missing or with another value."""
    env = {"TSAD_DATA_DIR": str(tmp_path / "data"), "TSAD_RUNNER": "thread"}
    server = ServeProcess(tmp_path / "serve.log", **env)
    acked: list[dict[int, float]] = [{} for _ in range(WORKERS)]
    # the batch each client had in flight at the kill: it may or may not have been stored
    unsure: list[dict[int, float]] = [{} for _ in range(WORKERS)]
    stop = threading.Event()

    def load(worker: int) -> None:
        rng = random.Random(worker)
        nxt = 0
        with httpx.Client(base_url=server.base, timeout=30) as client:
            while not stop.is_set():
                n = rng.choice((1, 1, 5, 80, 300))
                # mostly new timestamps, sometimes a re-send of recent ones with new values
                start = max(0, nxt - 40) if rng.random() < 0.2 else nxt
                batch = [[T0 + 60 * i, rng.random()] for i in range(start, start + n)]
                try:
                    r = client.post(f"/v1/series/crash{worker}/points", json={"points": batch})
                except httpx.TransportError:  # killed: this batch was never acknowledged
                    unsure[worker] = {
                        (T0 + 60 * i) * 1000: v for i, (_, v) in enumerate(batch, start)
                    }
                    return
                if r.status_code == 200:
                    acked[worker].update(
                        {(T0 + 60 * i) * 1000: v for i, (_, v) in enumerate(batch, start)}
                    )
                    nxt = max(nxt, start + n)

    threads = [threading.Thread(target=load, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    try:
        while sum(map(len, acked)) < 4_000:
            assert server.proc.poll() is None
            time.sleep(0.02)
        server.proc.kill()  # SIGKILL while requests are in flight
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
        server.stop()
    again = ServeProcess(tmp_path / "serve.log", **env)
    try:
        with httpx.Client(base_url=again.base, timeout=30) as client:
            for worker in range(WORKERS):
                body = client.get(f"/v1/series/crash{worker}/points").json()
                stored = {epoch_ms(p["timestamp"]): p["value"] for p in body["points"]}
                lost = {
                    t: v
                    for t, v in acked[worker].items()
                    if stored.get(t) != v and stored.get(t) != unsure[worker].get(t)
                }
                assert lost == {}, f"crash{worker}: {len(lost)} of {len(acked[worker])} lost"
    finally:
        again.stop()


def test_a_second_serve_on_the_same_data_dir_exits_2_with_one_line(tmp_path: Path) -> None:
    """`tsad serve` on a data dir another live `tsad serve` holds stops before binding."""
    env = {"TSAD_DATA_DIR": str(tmp_path / "data"), "TSAD_RUNNER": "thread"}
    server = ServeProcess(tmp_path / "serve.log", **env)
    try:
        proc = run_tsad("serve", "--port", str(free_port()), env=clean_env(**env))
    finally:
        server.stop()
    assert_one_line_error(proc, "is in use by another tsad process")
    assert proc.returncode == 2
