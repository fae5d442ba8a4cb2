"""The Buffer contract: one suite, run against MemoryBuffer, the embedded SQLite store
(EmbeddedBuffer, in a fresh data dir) and RedisBuffer on a real redis-server and on a
real 3-master Redis Cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests import redis_cluster as cluster_fixtures
from tests import redis_server as fixtures
from tests import state_records as records
from tsad.buffer.embedded import EmbeddedBuffer
from tsad.buffer.memory import MemoryBuffer
from tsad.errors import TooLarge
from tsad.settings import BufferSettings
from tsad.state import SeriesMeta
from tsad.types import Buffer

# the real redis-server fixtures (started here, never a server we did not start)
redis_session = fixtures.redis_session
redis_url = fixtures.redis_url
redis_cluster_session = cluster_fixtures.redis_cluster_session
redis_cluster_url = cluster_fixtures.redis_cluster_url

T0 = 1_700_000_000_000
MIN = 60_000

MakeBuffer = Callable[..., Awaitable[Buffer]]


@pytest.fixture(params=["memory", "embedded", "redis", "cluster"])
async def make_buf(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MakeBuffer]:
    """Builds buffers of the parametrised kind with the given BufferSettings fields."""
    made: list[Buffer] = []

    async def make(**fields: Any) -> Buffer:
        if request.param == "memory":
            buf: Buffer = MemoryBuffer(BufferSettings(**fields))
        elif request.param == "embedded":
            data = str(tmp_path / f"data{len(made)}")
            buf = EmbeddedBuffer.open(BufferSettings(backend="embedded", data_dir=data, **fields))
        else:
            from tsad.buffer.redis import RedisBuffer

            # "cluster": a real 3-master Redis Cluster (redis+cluster:// URL)
            name = "redis_url" if request.param == "redis" else "redis_cluster_url"
            url = request.getfixturevalue(name)
            buf = RedisBuffer.from_settings(BufferSettings(redis_url=url, **fields))
        made.append(buf)
        return buf

    yield make
    for buf in made:
        await buf.close()


@pytest.fixture
async def buffer(make_buf: MakeBuffer) -> Buffer:
    """A buffer with default settings: memory, embedded, redis or cluster."""
    return await make_buf()


def pts(*minutes: int) -> np.ndarray:
    return T0 + np.asarray(minutes, np.int64) * MIN


def vals(*values: float) -> np.ndarray:
    return np.asarray(values, np.float64)


async def test_append_then_window_returns_sorted_numpy_arrays(buffer: Buffer) -> None:
    """New points are all accepted and read back as int64 ms / float64 arrays."""
    result = await buffer.append("cpu", pts(0, 1, 2), vals(1.0, 2.0, 3.0))
    assert (result.accepted, result.duplicates) == (3, 0)
    window = await buffer.window("cpu")
    assert window.ts.dtype == np.int64 and window.y.dtype == np.float64
    np.testing.assert_array_equal(window.ts, pts(0, 1, 2))
    np.testing.assert_array_equal(window.y, vals(1.0, 2.0, 3.0))


async def test_repeats_within_a_batch_count_as_duplicates_and_last_wins(buffer: Buffer) -> None:
    """A timestamp repeated in one batch is stored once, with the last value sent."""
    result = await buffer.append("cpu", pts(0, 1, 1, 1), vals(1.0, 2.0, 3.0, 4.0))
    assert (result.accepted, result.duplicates) == (2, 2)
    window = await buffer.window("cpu")
    np.testing.assert_array_equal(window.y, vals(1.0, 4.0))


async def test_resent_timestamps_replace_stored_values(buffer: Buffer) -> None:
    """Re-sending a stored timestamp counts as a duplicate and overwrites its value."""
    await buffer.append("cpu", pts(0, 1, 2), vals(1.0, 2.0, 3.0))
    result = await buffer.append("cpu", pts(1, 2, 3), vals(20.0, 3.0, 40.0))
    assert (result.accepted, result.duplicates) == (1, 2)
    window = await buffer.window("cpu")
    np.testing.assert_array_equal(window.ts, pts(0, 1, 2, 3))
    np.testing.assert_array_equal(window.y, vals(1.0, 20.0, 3.0, 40.0))


async def test_unsorted_batches_are_stored_in_time_order(buffer: Buffer) -> None:
    """Points may arrive in any order, including before stored ones; reads are sorted."""
    await buffer.append("cpu", pts(5, 3, 4), vals(5.0, 3.0, 4.0))
    result = await buffer.append("cpu", pts(1, 6, 0, 4), vals(1.0, 6.0, 0.0, 44.0))
    assert (result.accepted, result.duplicates) == (3, 1)
    window = await buffer.window("cpu")
    np.testing.assert_array_equal(window.ts, pts(0, 1, 3, 4, 5, 6))
    np.testing.assert_array_equal(window.y, vals(0.0, 1.0, 3.0, 44.0, 5.0, 6.0))


async def test_retention_keeps_the_newest_max_points(make_buf: MakeBuffer) -> None:
    """Beyond max_points_per_series the oldest points are dropped."""
    buffer = await make_buf(max_points_per_series=3)
    await buffer.append("cpu", pts(0, 1, 2), vals(0.0, 1.0, 2.0))
    await buffer.append("cpu", pts(3, 4), vals(3.0, 4.0))
    window = await buffer.window("cpu")
    np.testing.assert_array_equal(window.ts, pts(2, 3, 4))
    info = await buffer.info("cpu")
    assert info is not None and info.count == 3 and info.first == int(pts(2)[0])


async def test_retention_by_age_drops_points_older_than_max_age(make_buf: MakeBuffer) -> None:
    """With max_age_s, points older than the newest minus the age are dropped."""
    buffer = await make_buf(max_age_s=120)
    await buffer.append("cpu", pts(0, 1, 2, 3), vals(0.0, 1.0, 2.0, 3.0))
    window = await buffer.window("cpu")
    np.testing.assert_array_equal(window.ts, pts(1, 2, 3))  # 3 - 2 minutes = 1, kept
    await buffer.append("cpu", pts(10), vals(10.0))
    np.testing.assert_array_equal((await buffer.window("cpu")).ts, pts(10))


async def test_window_bounds_are_inclusive_and_limit_keeps_the_newest(buffer: Buffer) -> None:
    """start/end are inclusive ms bounds; limit returns the newest points of the range."""
    await buffer.append("cpu", pts(*range(10)), vals(*range(10)))
    window = await buffer.window("cpu", start=int(pts(2)[0]), end=int(pts(5)[0]))
    np.testing.assert_array_equal(window.ts, pts(2, 3, 4, 5))
    window = await buffer.window("cpu", end=int(pts(5)[0]), limit=2)
    np.testing.assert_array_equal(window.y, vals(4.0, 5.0))
    window = await buffer.window("cpu", limit=3)
    np.testing.assert_array_equal(window.ts, pts(7, 8, 9))
    assert len(await buffer.window("cpu", start=int(pts(20)[0]))) == 0


async def test_unknown_series_reads_empty(buffer: Buffer) -> None:
    """An unknown series has no info, an empty window, no state and no anomalies."""
    assert await buffer.info("nope") is None
    window = await buffer.window("nope")
    assert len(window) == 0 and window.ts.dtype == np.int64
    assert await buffer.get_state("nope") is None
    assert await buffer.anomalies("nope") == []


async def test_empty_append_is_a_no_op(buffer: Buffer) -> None:
    """Appending no points accepts nothing and creates no series."""
    result = await buffer.append("cpu", pts(), vals())
    assert (result.accepted, result.duplicates) == (0, 0)
    assert await buffer.list_series() == []


async def test_state_round_trips_and_feeds_info_meta(buffer: Buffer) -> None:
    """put_state/get_state round-trip a typed state record; info.meta is its meta."""
    await buffer.append("cpu", pts(0, 1), vals(1.0, 2.0))
    state = records.state("stats", mean=[1.5, 2.5])
    await buffer.put_state("cpu", state)
    assert await buffer.get_state("cpu") == state
    info = await buffer.info("cpu")
    assert info is not None and info.meta == SeriesMeta(model="stats")
    await buffer.put_state("cpu", records.state("nhits"))
    assert await buffer.get_state("cpu") == records.state("nhits")


async def test_scorer_round_trips_apart_from_state_and_is_deleted(buffer: Buffer) -> None:
    """put_scorer/get_scorer round-trip, leave the state alone, and go with the series."""
    await buffer.append("cpu", pts(0, 1), vals(1.0, 2.0))
    await buffer.put_state("cpu", records.state("stats"))
    assert await buffer.get_scorer("cpu") is None
    scorer = {"n": 5, "rec_z": 2.5, "last_y": None, "recent_z": [0.1, 0.2]}
    await buffer.put_scorer("cpu", scorer)
    assert await buffer.get_scorer("cpu") == scorer
    assert await buffer.get_state("cpu") == records.state("stats")
    await buffer.delete("cpu")
    assert await buffer.get_scorer("cpu") is None


async def test_anomalies_are_sorted_filtered_and_replaced_by_timestamp(buffer: Buffer) -> None:
    """Anomaly records come back by ts within inclusive bounds; a re-flagged ts replaces."""
    t = pts(0, 1, 2)
    await buffer.add_anomalies(
        "cpu", [{"ts": int(t[2]), "score": 0.9}, {"ts": int(t[0]), "score": 0.5}]
    )
    await buffer.add_anomalies(
        "cpu", [{"ts": int(t[2]), "score": 0.99}, {"ts": int(t[1]), "score": 0.7}]
    )
    got = await buffer.anomalies("cpu")
    assert [(r["ts"], r["score"]) for r in got] == [
        (int(t[0]), 0.5),
        (int(t[1]), 0.7),
        (int(t[2]), 0.99),
    ]
    assert [r["ts"] for r in await buffer.anomalies("cpu", start=int(t[1]), end=int(t[2]))] == [
        int(t[1]),
        int(t[2]),
    ]


async def test_delete_forgets_points_state_and_anomalies(buffer: Buffer) -> None:
    """delete removes a series entirely and says whether it existed."""
    await buffer.append("cpu", pts(0), vals(1.0))
    await buffer.put_state("cpu", records.state("stats"))
    await buffer.add_anomalies("cpu", [{"ts": int(pts(0)[0]), "score": 1.0}])
    assert await buffer.delete("cpu") is True
    assert await buffer.info("cpu") is None
    assert await buffer.get_state("cpu") is None
    assert await buffer.anomalies("cpu") == []
    assert await buffer.list_series() == []
    assert await buffer.delete("cpu") is False


async def test_list_series_is_sorted_with_counts_and_bounds(buffer: Buffer) -> None:
    """list_series gives every series with points, sorted by id, with count/first/last."""
    await buffer.append("b.mem", pts(0, 1), vals(1.0, 2.0))
    await buffer.append("a:cpu=1", pts(3), vals(1.0))
    listed = await buffer.list_series()
    assert [(i.series_id, i.count, i.first, i.last) for i in listed] == [
        ("a:cpu=1", 1, int(pts(3)[0]), int(pts(3)[0])),
        ("b.mem", 2, int(pts(0)[0]), int(pts(1)[0])),
    ]


async def test_max_series_refuses_a_new_series_and_writes_nothing(make_buf: MakeBuffer) -> None:
    """At max_series a new series is refused with TooLarge; existing ones still append."""
    buffer = await make_buf(max_series=1)
    await buffer.append("a", pts(0), vals(1.0))
    with pytest.raises(TooLarge):
        await buffer.append("b", pts(0), vals(1.0))
    assert await buffer.info("b") is None
    assert (await buffer.append("a", pts(1), vals(2.0))).accepted == 1


async def test_ping_answers_true_when_reachable(buffer: Buffer) -> None:
    """ping is True while the buffer is usable."""
    assert await buffer.ping() is True


async def test_feedback_round_trips_replaced_whole_and_deleted_with_the_series(
    buffer: Buffer,
) -> None:
    """put_feedback/get_feedback round-trip a list of records, an empty list clears it,
    and deleting the series forgets it."""
    await buffer.append("cpu", pts(0, 1), vals(1.0, 2.0))
    assert await buffer.get_feedback("cpu") == []
    records = [
        {"id": "a1", "label": "false_positive", "start": 0, "end": 60_000, "note": None},
        {"id": "b2", "label": "expected", "start": 5, "end": 9, "features": {"score": 0.5}},
    ]
    await buffer.put_feedback("cpu", records)
    assert await buffer.get_feedback("cpu") == records
    await buffer.put_feedback("cpu", records[1:])
    assert await buffer.get_feedback("cpu") == records[1:]
    await buffer.put_feedback("cpu", [])
    assert await buffer.get_feedback("cpu") == []
    await buffer.put_feedback("cpu", records)
    await buffer.delete("cpu")
    assert await buffer.get_feedback("cpu") == []


async def test_groups_round_trip_replace_and_delete_apart_from_the_series(
    buffer: Buffer,
) -> None:
    """put_group/get_groups keep one document per group name, a put replaces it, None
    deletes it, and deleting a member series leaves the group alone."""
    assert await buffer.get_groups() == {}
    host = {"series": ["cpu", "lat"], "detector": "pca", "model": {"mean": [1.5, 2.0]}}
    await buffer.put_group("host", host)
    await buffer.put_group("db", {"series": ["q", "w"], "model": None})
    assert await buffer.get_groups() == {"host": host, "db": {"series": ["q", "w"], "model": None}}
    await buffer.put_group("db", {"series": ["q", "w", "e"], "model": None})
    assert (await buffer.get_groups())["db"]["series"] == ["q", "w", "e"]
    await buffer.append("cpu", pts(0), vals(1.0))
    await buffer.delete("cpu")
    await buffer.put_group("db", None)
    await buffer.put_group("gone", None)
    assert await buffer.get_groups() == {"host": host}


async def test_groups_survive_reopening_a_persistent_store(
    make_buf: MakeBuffer, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A group written to the embedded store or Redis is read back by a new buffer on the
    same data (the memory buffer keeps nothing across processes: skipped)."""
    kind = request.node.callspec.params["make_buf"]
    if kind == "memory":
        pytest.skip("the memory buffer does not outlive its process")
    first = await make_buf()
    await first.put_group("host", {"series": ["cpu", "lat"], "model": {"k": 2.5}})
    await first.close()
    if kind == "embedded":
        again: Buffer = EmbeddedBuffer.open(
            BufferSettings(backend="embedded", data_dir=str(tmp_path / "data0"))
        )
    else:
        again = await make_buf()
    try:
        assert await again.get_groups() == {"host": {"series": ["cpu", "lat"], "model": {"k": 2.5}}}
    finally:
        await again.close()
