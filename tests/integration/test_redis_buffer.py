"""RedisBuffer beyond the shared contract: outages, sharing between clients, key layout,
and agreement with MemoryBuffer on random append sequences."""

from __future__ import annotations

import numpy as np
import pytest
import redis.asyncio as aredis

from tests import redis_server as fixtures
from tests.redis_server import RedisServer
from tsad.buffer.memory import MemoryBuffer
from tsad.buffer.redis import RedisBuffer
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
    await one.put_state("cpu", {"band": {"mean": [1.0]}, "meta": {"model": "stats"}})
    await one.add_anomalies("cpu", [{"ts": int(ts[3]), "score": 0.99}])
    np.testing.assert_array_equal((await two.window("cpu")).ts, ts)
    assert (await two.get_state("cpu")) == {"band": {"mean": [1.0]}, "meta": {"model": "stats"}}
    assert [r["ts"] for r in await two.anomalies("cpu")] == [int(ts[3])]
    assert [i.series_id for i in await two.list_series()] == ["cpu"]
    await one.close()
    await two.close()


async def test_keys_of_a_series_share_one_hash_tag(redis_url: str) -> None:
    """Every key of a series is tsad:{<series>}:..., so one series maps to one Cluster slot."""
    buf = _buf(redis_url)
    ts = np.array([T0], np.int64)
    await buf.append("web.p99", ts, np.array([1.0]))
    await buf.put_state("web.p99", {"meta": {}})
    await buf.add_anomalies("web.p99", [{"ts": T0}])
    raw = aredis.Redis.from_url(redis_url)
    keys = sorted(k.decode() for k in await raw.keys("*"))
    assert keys == [
        "tsad:series",
        "tsad:{web.p99}:anomalies",
        "tsad:{web.p99}:meta",
        "tsad:{web.p99}:points",
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


async def test_numpy_values_in_state_are_stored_as_json_lists(redis_url: str) -> None:
    """State holding numpy arrays/scalars is stored as plain JSON lists and numbers."""
    buf = _buf(redis_url)
    await buf.put_state("s", {"mean": np.array([1.0, 2.0]), "n": np.int64(3)})
    assert await buf.get_state("s") == {"mean": [1.0, 2.0], "n": 3}
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
