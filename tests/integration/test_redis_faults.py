"""Fault tests with real processes: `tsad serve` replicas and `tsad worker`s on one
redis-server started here, processes killed with SIGKILL, Redis stopped mid-load."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from tests import redis_server as fixtures
from tests.redis_server import free_port, redis_available, redis_server
from tsad.buffer.redis import RedisBuffer
from tsad.queue.redis import RedisRefitQueue
from tsad.settings import BufferSettings, Settings

redis_session = fixtures.redis_session
redis_url = fixtures.redis_url

pytestmark = pytest.mark.skipif(not redis_available(), reason="redis-server is not installed")

T0_S = 1_700_000_000
STEP_S = 300


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSAD_")}
    env.update(TSAD_REDIS_URL=url, TSAD_RUNNER="thread", TSAD_REDIS_TIMEOUT_S="1", **extra)
    return env


class Serve:
    """One `tsad serve` process on a free port."""

    def __init__(self, url: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tsad", "serve", "--port", str(self.port)],
            env=_env(url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_ready(self, timeout_s: float = 60.0) -> Serve:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "tsad serve exited"
            try:
                if httpx.get(self.base + "/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("tsad serve never became ready")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def serves(redis_url: str) -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for serve in started:
        serve.stop()


def _batch(start: int, n: int, spike: float | None = None) -> list[list[float]]:
    idx = np.arange(start, start + n)
    y = 10 + np.sin(idx / 12 * np.pi)
    if spike is not None:
        y[-1] = spike
    return [[int(T0_S + i * STEP_S), float(v)] for i, v in zip(idx, y, strict=True)]


async def _stored(url: str, series_id: str) -> dict[int, float]:
    buf = RedisBuffer.from_settings(BufferSettings(redis_url=url))
    window = await buf.window(series_id)
    await buf.close()
    return dict(zip(window.ts.tolist(), window.y.tolist(), strict=True))


def _poll(check: Any, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


@pytest.mark.slow  # two server start-ups and a first model fit: ~10 s here
def test_two_replicas_share_points_bands_and_scoring(redis_url: str, serves: list[Serve]) -> None:
    """Points posted to one replica are listed, read and scored by the other."""
    serves += [Serve(redis_url), Serve(redis_url)]
    one, two = (s.wait_ready() for s in serves)
    # past the warm-up of 5-minute data (576 points), so the first refit trusts the series
    r = httpx.post(f"{one.base}/v1/series/cpu/points", json={"points": _batch(0, 600)})
    assert r.status_code == 200 and r.json()["accepted"] == 600
    listed = httpx.get(f"{two.base}/v1/series").json()["series"]
    assert [(s["series_id"], s["count"]) for s in listed] == [("cpu", 600)]
    points = httpx.get(f"{two.base}/v1/series/cpu/points").json()
    assert points["count"] == 600
    # the band fitted after the post on one replica is stored in Redis for both
    _poll(lambda: httpx.get(f"{two.base}/v1/series/cpu").json()["band"])
    r = httpx.post(f"{two.base}/v1/series/cpu/points", json={"points": _batch(600, 1, 100.0)})
    assert r.status_code == 200
    [flagged] = r.json()["anomalies"]
    assert flagged["is_anomaly"] is True and flagged["direction"] == "up"
    history = httpx.get(f"{one.base}/v1/series/cpu/anomalies").json()
    assert [a["value"] for a in history["anomalies"]] == [100.0]


def test_every_acknowledged_point_survives_kill_9_of_the_server(
    redis_url: str, serves: list[Serve]
) -> None:
    """SIGKILL of a tsad process right after its 2xx answers loses no acknowledged point."""
    serves.append(Serve(redis_url))
    serve = serves[0].wait_ready()
    acked: dict[int, float] = {}
    killed = threading.Event()

    def killer() -> None:
        _poll(lambda: len(acked) >= 2_000, 30)
        os.kill(serve.proc.pid, signal.SIGKILL)
        killed.set()

    thread = threading.Thread(target=killer)
    thread.start()
    with httpx.Client(base_url=serve.base, timeout=5) as client:
        start = 0
        while start < 100_000:  # bounded: the kill comes after 2,000 acknowledged points
            batch = _batch(start, 50)
            try:
                r = client.post("/v1/series/cpu/points", json={"points": batch})
            except httpx.HTTPError:
                break  # the server is gone: this batch was never acknowledged
            if r.status_code == 200:
                acked.update({int(t) * 1000: v for t, v in batch})
            start += 50
    thread.join()
    assert killed.is_set() and len(acked) >= 2_000
    stored = asyncio.run(_stored(redis_url, "cpu"))
    missing = [t for t, v in acked.items() if stored.get(t) != v]
    assert missing == []


def test_redis_restart_mid_load_loses_nothing_and_answers_503_meanwhile(
    serves: list[Serve],
) -> None:
    """With appendfsync always, a Redis crash and restart under load loses no acknowledged
    point; during the gap writes answer 503 with Retry-After and /ready is 503, never 500."""
    with redis_server(appendonly=True) as redis:
        serves.append(Serve(redis.url))
        serve = serves[0].wait_ready()
        acked: dict[int, float] = {}
        statuses: list[int] = []
        ready_during_gap: list[int] = []
        with httpx.Client(base_url=serve.base, timeout=10) as client:
            start, phase = 0, "before"
            while phase != "done":
                batch = _batch(start, 25)
                r = client.post("/v1/series/cpu/points", json={"points": batch})
                statuses.append(r.status_code)
                if r.status_code == 200:
                    acked.update({int(t) * 1000: v for t, v in batch})
                else:
                    assert r.status_code == 503 and r.headers.get("retry-after"), r.text
                start += 25
                if phase == "before" and len(acked) >= 500:
                    redis.stop(kill=True)  # SIGKILL: only what was fsynced survives
                    phase, gap_end = "gap", time.monotonic() + 1.0
                elif phase == "gap" and time.monotonic() >= gap_end:
                    ready_during_gap.append(client.get("/ready").status_code)
                    redis.start()
                    phase, resumed = "after", len(acked)
                elif phase == "after" and len(acked) >= resumed + 500:
                    phase = "done"
        assert 503 in statuses and 500 not in statuses
        assert ready_during_gap == [503]
        stored = asyncio.run(_stored(redis.url, "cpu"))
        assert [t for t, v in acked.items() if stored.get(t) != v] == []


_SLOW_WORKER = """
import asyncio, sys
import redis
from tsad.settings import Settings
from tsad.worker import run_worker

settings = Settings.from_env()
mark = redis.Redis.from_url(settings.buffer.redis_url)

async def slow_refit(series_id):
    mark.set("test:refit-started", series_id)
    await asyncio.sleep(600)

asyncio.run(run_worker(settings, asyncio.Event(), "doomed", refit=slow_refit))
"""


@pytest.mark.slow  # three processes and a model fit: ~9 s here
def test_a_refit_left_by_a_killed_worker_is_completed_by_another(redis_url: str) -> None:
    """A worker SIGKILLed mid-refit leaves its entry pending; a `tsad worker` reclaims it and
    stores the band."""
    asyncio.run(_seed_series(redis_url))
    env = _env(redis_url, TSAD_WORKER_RECLAIM_IDLE_S="1")
    doomed = subprocess.Popen([sys.executable, "-c", _SLOW_WORKER], env=env)
    rescuer: subprocess.Popen[bytes] | None = None
    try:
        asyncio.run(_schedule(redis_url, "cpu"))
        import redis as redis_py

        raw = redis_py.Redis.from_url(redis_url)
        _poll(lambda: raw.get("test:refit-started") == b"cpu", 30)
        doomed.kill()
        doomed.wait(timeout=10)
        assert asyncio.run(_pending(redis_url)) == 1
        rescuer = subprocess.Popen(
            [sys.executable, "-m", "tsad", "worker", "--consumer", "rescuer"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _poll(lambda: asyncio.run(_band_stored(redis_url, "cpu")), 60)
        _poll(lambda: asyncio.run(_pending(redis_url)) == 0, 10)
        raw.close()
    finally:
        for proc in (doomed, rescuer):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)
    assert rescuer is not None and rescuer.returncode == 0  # SIGTERM: a clean stop


async def _seed_series(url: str) -> None:
    buf = RedisBuffer.from_settings(BufferSettings(redis_url=url))
    points = np.asarray(_batch(0, 200))
    await buf.append("cpu", (points[:, 0] * 1000).astype(np.int64), points[:, 1])
    await buf.close()


async def _schedule(url: str, series_id: str) -> None:
    queue = RedisRefitQueue.from_settings(Settings(buffer=BufferSettings(redis_url=url)))
    assert await queue.schedule(series_id) is True
    await queue.close()


async def _pending(url: str) -> int:
    queue = RedisRefitQueue.from_settings(Settings(buffer=BufferSettings(redis_url=url)))
    pending = await queue.pending()
    await queue.close()
    return pending


async def _band_stored(url: str, series_id: str) -> bool:
    buf = RedisBuffer.from_settings(BufferSettings(redis_url=url))
    state = await buf.get_state(series_id)
    await buf.close()
    return state is not None and state.band is not None
