"""RedisBuffer beyond the shared contract: outages, sharing between clients, key layout,
and agreement with MemoryBuffer on random append sequences."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
import redis.asyncio as aredis

from tests import redis_server as fixtures
from tests import state_records as records
from tests.redis_server import RedisServer
from tsad.buffer.memory import MemoryBuffer
from tsad.buffer.redis import POINT, RedisBuffer
from tsad.errors import BufferUnavailable
from tsad.settings import BufferSettings

# the real redis-server fixtures (started here, never a server we did not start)
redis_session = fixtures.redis_session
redis_url = fixtures.redis_url
own_redis = fixtures.own_redis

T0 = 1_700_000_000_000


def _buf(url: str, **fields: int) -> RedisBuffer:
    return RedisBuffer.from_settings(BufferSettings(redis_url=url, **fields))  # type: ignore[arg-type]


async def test_random_appends_agree_with_memory_buffer(redis_url: str) -> None:
    """Unsorted, overlapping, repeated batches give the same counts and data as MemoryBuffer."""
    rng = np.random.default_rng(7)
    settings = {"max_points_per_series": 400, "max_age_s": 900}
    ref = MemoryBuffer(BufferSettings(**settings))  # type: ignore[arg-type]
    buf = _buf(redis_url, **settings)
    for step in range(60):
        n = int(rng.integers(1, 1_200))
        base = step * 15
        ts = T0 + (base + rng.integers(-40, 60, n)) * 1_000
        y = rng.normal(size=n).round(3)
        got = await buf.append("s", ts.astype(np.int64), y)
        want = await ref.append("s", ts.astype(np.int64), y)
        assert got == want, f"step {step}"
    w_got, w_want = await buf.window("s"), await ref.window("s")
    np.testing.assert_array_equal(w_got.ts, w_want.ts)
    np.testing.assert_array_equal(w_got.y, w_want.y)
    assert await buf.info("s") == await ref.info("s")
    await buf.close()


async def test_a_second_client_sees_the_same_series_state_and_anomalies(redis_url: str) -> None:
    """Two buffers on one Redis (two replicas) share points, state and anomaly history."""
    one, two = _buf(redis_url), _buf(redis_url)
    ts = T0 + np.arange(5, dtype=np.int64) * 60_000
    await one.append("cpu", ts, np.arange(5.0))
    await one.put_state("cpu", records.state("stats", mean=[1.0]))
    await one.add_anomalies("cpu", [{"ts": int(ts[3]), "score": 0.99}])
    np.testing.assert_array_equal((await two.window("cpu")).ts, ts)
    assert (await two.get_state("cpu")) == records.state("stats", mean=[1.0])
    assert [r["ts"] for r in await two.anomalies("cpu")] == [int(ts[3])]
    assert [i.series_id for i in await two.list_series()] == ["cpu"]
    await one.close()
    await two.close()


async def test_keys_of_a_series_share_one_hash_tag(redis_url: str) -> None:
    """Every key of a series is tsad:{<series>}:..., so one series maps to one Cluster slot."""
    buf = _buf(redis_url)
    ts = np.array([T0], np.int64)
    await buf.append("web.p99", ts, np.array([1.0]))
    await buf.put_state("web.p99", records.state())
    await buf.add_anomalies("web.p99", [{"ts": T0}])
    raw = aredis.Redis.from_url(redis_url)
    keys = sorted(k.decode() for k in await raw.keys("*"))
    assert keys == [
        "tsad:layout",
        "tsad:series",
        "tsad:{web.p99}:anomalies",
        "tsad:{web.p99}:chunks",
        "tsad:{web.p99}:count",
        "tsad:{web.p99}:meta",
        "tsad:{web.p99}:state",
    ]
    await raw.aclose()
    await buf.close()


async def test_large_batches_with_many_replacements_stay_exact(redis_url: str) -> None:
    """Batches bigger than the script's ZADD chunk, re-sent with new values, replace in place."""
    buf = _buf(redis_url)
    ts = T0 + np.arange(5_000, dtype=np.int64)
    await buf.append("big", ts, np.zeros(5_000))
    result = await buf.append("big", ts[::-1].copy(), np.ones(5_000))
    assert (result.accepted, result.duplicates) == (0, 5_000)
    window = await buf.window("big")
    np.testing.assert_array_equal(window.ts, ts)
    assert np.all(window.y == 1.0)
    await buf.close()


async def test_state_is_stored_as_plain_json(redis_url: str) -> None:
    """A state record is stored as plain JSON with the field names of earlier tsads,
    which therefore still decode."""
    buf = _buf(redis_url)
    await buf.put_state("s", records.state("stats", mean=[1.0, 2.0]))
    raw = aredis.Redis.from_url(redis_url)
    stored = msgspec.json.decode(await raw.get("tsad:{s}:state"))
    assert stored["meta"] == {"model": "stats"} and stored["band"]["mean"] == [1.0, 2.0]
    await raw.aclose()
    await buf.close()


async def test_outage_raises_buffer_unavailable_and_recovers_without_restart(
    own_redis: RedisServer,
) -> None:
    """With Redis down every call raises BufferUnavailable (ping is False); when it is back
    the same client works again."""
    buf = _buf(own_redis.url)
    ts = np.array([T0], np.int64)
    await buf.append("cpu", ts, np.array([1.0]))
    own_redis.stop()
    assert await buf.ping() is False
    with pytest.raises(BufferUnavailable):
        await buf.append("cpu", ts + 1, np.array([2.0]))
    with pytest.raises(BufferUnavailable):
        await buf.window("cpu")
    with pytest.raises(BufferUnavailable):
        await buf.list_series()
    own_redis.start()  # no persistence: the restarted server is empty and lost the script cache
    assert await buf.ping() is True
    result = await buf.append("cpu", ts + 2, np.array([3.0]))
    assert (result.accepted, result.duplicates) == (1, 0)
    assert (await buf.window("cpu")).ts.tolist() == [T0 + 2]
    await buf.close()


async def _write_old_layout(url: str, sid: str, ts: np.ndarray, y: np.ndarray) -> None:
    """What a tsad before the chunk layout stored: one 16-byte member per point."""
    raw = aredis.Redis.from_url(url)
    rec = np.empty(ts.shape[0], POINT)
    rec["ts"], rec["y"] = ts, y
    packed = rec.tobytes()
    mapping = {packed[i * 16 : i * 16 + 16]: int(t) for i, t in enumerate(ts)}
    await raw.zadd(f"tsad:{{{sid}}}:points", mapping)  # type: ignore[arg-type]
    await raw.sadd("tsad:series", sid)  # type: ignore[misc]
    await raw.aclose()


async def test_the_previous_point_layout_is_migrated_in_place(own_redis: RedisServer) -> None:
    """Series stored one member per point (the old layout) read back unchanged after the
    first contact, are appended to with dedupe, and leave no old key behind."""
    url = own_redis.url
    ts = T0 + np.arange(1_000, dtype=np.int64) * 60_000
    y = np.arange(1_000.0)
    await _write_old_layout(url, "old.a", ts, y)
    await _write_old_layout(url, "old.b", ts[:10], y[:10])
    buf = _buf(url, max_points_per_series=900)
    window = await buf.window("old.a")
    np.testing.assert_array_equal(window.ts, ts)
    np.testing.assert_array_equal(window.y, y)
    assert [(i.series_id, i.count) for i in await buf.list_series()] == [
        ("old.a", 1_000),
        ("old.b", 10),
    ]
    result = await buf.append("old.b", ts[5:15], np.full(10, -1.0))
    assert (result.accepted, result.duplicates) == (5, 5)
    assert (await buf.window("old.b")).y.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0] + [-1.0] * 10
    raw = aredis.Redis.from_url(url)
    assert await raw.keys("tsad:{*}:points") == []
    await raw.aclose()
    await buf.close()


async def test_random_small_and_old_batches_across_many_chunks_agree(redis_url: str) -> None:
    """Single points, short runs and re-sends into the middle of a multi-chunk series give
    MemoryBuffer's counts and data (chunk merges, splits and retention cuts)."""
    rng = np.random.default_rng(11)
    settings = {"max_points_per_series": 3_000}
    ref = MemoryBuffer(BufferSettings(**settings))  # type: ignore[arg-type]
    buf = _buf(redis_url, **settings)
    for step in range(300):
        n = int(rng.choice([1, 2, 7, 300]))
        centre = step * 12 if step % 4 else int(rng.integers(0, step * 12 + 1))
        ts = (T0 + (centre + rng.integers(-20, 20, n)) * 1_000).astype(np.int64)
        y = rng.normal(size=n).round(3)
        assert await buf.append("m", ts, y) == await ref.append("m", ts, y), f"step {step}"
    w_got, w_want = await buf.window("m"), await ref.window("m")
    np.testing.assert_array_equal(w_got.ts, w_want.ts)
    np.testing.assert_array_equal(w_got.y, w_want.y)
    lim_got = await buf.window("m", end=int(w_want.ts[-500]), limit=700)
    lim_want = await ref.window("m", end=int(w_want.ts[-500]), limit=700)
    np.testing.assert_array_equal(lim_got.ts, lim_want.ts)
    assert await buf.info("m") == await ref.info("m")
    await buf.close()


async def test_old_layout_writes_after_a_conversion_are_merged(own_redis: RedisServer) -> None:
    """A replica still on the previous layout writing to a converted series (a rolling
    upgrade): the next append merges both, its own points and the old replica's kept."""
    url = own_redis.url
    buf = _buf(url)
    ts = T0 + np.arange(20, dtype=np.int64) * 60_000
    await buf.append("mixed", ts[:10], np.zeros(10))
    await _write_old_layout(url, "mixed", ts[5:15], np.ones(10))
    result = await buf.append("mixed", ts[15:], np.full(5, 2.0))
    assert (result.accepted, result.duplicates) == (5, 0)
    window = await buf.window("mixed")
    np.testing.assert_array_equal(window.ts, ts)
    assert window.y.tolist() == [0.0] * 5 + [1.0] * 10 + [2.0] * 5
    assert (await buf.info("mixed")).count == 20  # type: ignore[union-attr]
    await buf.close()
