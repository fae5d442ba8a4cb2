"""EmbeddedBuffer beyond the shared contract: what survives a reopen, agreement with
MemoryBuffer on random append sequences across reopens, the data-dir lock, and a
failed write answering 503 with nothing half-stored."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests import state_records as records
from tsad.buffer import make_buffer
from tsad.buffer.embedded import HEAD_MAX, EmbeddedBuffer
from tsad.buffer.memory import MemoryBuffer
from tsad.errors import BufferUnavailable, ConfigError
from tsad.settings import BufferSettings

T0 = 1_700_000_000_000


def _open(path: Path, **fields: Any) -> EmbeddedBuffer:
    return EmbeddedBuffer.open(BufferSettings(backend="embedded", data_dir=str(path), **fields))


async def _same(got: Any, want: Any, sid: str) -> None:
    w_got, w_want = await got.window(sid), await want.window(sid)
    np.testing.assert_array_equal(w_got.ts, w_want.ts)
    np.testing.assert_array_equal(w_got.y, w_want.y)
    assert await got.info(sid) == await want.info(sid)


async def test_points_state_and_anomalies_survive_a_reopen(tmp_path: Path) -> None:
    """Everything acknowledged is there after close and open: points, state, scorer,
    anomalies."""
    buf = _open(tmp_path)
    ts = T0 + np.arange(1_000, dtype=np.int64) * 60_000
    await buf.append("cpu", ts, np.arange(1_000.0))
    await buf.append("cpu", ts[5:7], np.array([-1.0, -2.0]))  # replaces two stored points
    await buf.put_state("cpu", records.state("stats", mean=[0.0, 1.0, 2.0]))
    await buf.put_state("only-state", records.state("nhits"))
    await buf.add_anomalies("cpu", [{"ts": int(ts[9]), "score": 0.9, "extra": [1, 2]}])
    await buf.put_scorer("cpu", {"n": 700, "rec_z": 3.5, "last_y": None})
    await buf.close()
    again = _open(tmp_path)
    window = await again.window("cpu")
    assert window.ts.shape[0] == 1_000 and list(window.y[4:8]) == [4.0, -1.0, -2.0, 7.0]
    assert await again.get_state("cpu") == records.state("stats", mean=[0.0, 1.0, 2.0])
    assert await again.get_state("only-state") == records.state("nhits")
    assert await again.get_scorer("cpu") == {"n": 700, "rec_z": 3.5, "last_y": None}
    assert await again.anomalies("cpu") == [{"ts": int(ts[9]), "score": 0.9, "extra": [1, 2]}]
    assert [i.series_id for i in await again.list_series()] == ["cpu"]
    await again.close()


@pytest.mark.parametrize("sizes", [(1, 3), (1, 1_200)])
async def test_random_appends_agree_with_memory_buffer_across_reopens(
    tmp_path: Path, sizes: tuple[int, int]
) -> None:
    """Unsorted, overlapping, repeated batches (small ones folded from the head log, large
    in-order ones written as chunks) give MemoryBuffer's counts and data, also after reopens."""
    rng = np.random.default_rng(sizes[1])
    settings: dict[str, Any] = {"max_points_per_series": 700, "max_age_s": 1_500}
    ref = MemoryBuffer(BufferSettings(**settings))
    buf = _open(tmp_path, **settings)
    for step in range(400 if sizes[1] < 10 else 60):
        n = int(rng.integers(*sizes))
        base = step * (2 if sizes[1] < 10 else 15)
        jitter = rng.integers(-40, 60, n) if step % 3 else np.arange(n) + 60
        ts = (T0 + (base + jitter) * 1_000).astype(np.int64)
        y = rng.normal(size=n).round(3)
        assert await buf.append("s", ts, y) == await ref.append("s", ts, y), f"step {step}"
        if step % 97 == 96:
            await buf.close()
            buf = _open(tmp_path, **settings)
            await _same(buf, ref, "s")
    await buf.close()
    buf = _open(tmp_path, **settings)
    await _same(buf, ref, "s")
    await buf.close()


async def test_in_order_single_points_fold_into_chunks(tmp_path: Path) -> None:
    """A stream of single points is folded from the head log into chunk rows as it grows."""
    buf = _open(tmp_path)
    n = 3 * HEAD_MAX + 5
    for i in range(n):
        await buf.append("m", np.array([T0 + i * 1_000]), np.array([float(i)]))
    await buf.close()
    conn = sqlite3.connect(tmp_path / "tsad.sqlite3")
    heads = conn.execute("SELECT count(*) FROM head").fetchone()[0]
    chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    conn.close()
    assert heads < HEAD_MAX and chunks >= 3
    again = _open(tmp_path)
    np.testing.assert_array_equal((await again.window("m")).y, np.arange(n, dtype=float))
    await again.close()


async def test_retention_is_not_undone_by_a_larger_limit_after_restart(tmp_path: Path) -> None:
    """Points dropped by retention stay dropped when the store reopens with a larger limit."""
    buf = _open(tmp_path, max_points_per_series=100)
    ts = T0 + np.arange(1_000, dtype=np.int64) * 1_000
    for k in range(0, 1_000, 250):
        await buf.append("r", ts[k : k + 250], np.ones(250))
    await buf.close()
    again = _open(tmp_path, max_points_per_series=5_000)
    window = await again.window("r")
    np.testing.assert_array_equal(window.ts, ts[-100:])
    await again.close()


async def test_delete_is_durable(tmp_path: Path) -> None:
    """A deleted series stays deleted after a reopen; a new one of the same name starts empty."""
    buf = _open(tmp_path)
    await buf.append("d", np.array([T0, T0 + 1]), np.array([1.0, 2.0]))
    await buf.add_anomalies("d", [{"ts": T0}])
    assert await buf.delete("d") is True
    await buf.append("d", np.array([T0 + 5]), np.array([5.0]))
    await buf.close()
    again = _open(tmp_path)
    np.testing.assert_array_equal((await again.window("d")).ts, [T0 + 5])
    assert await again.anomalies("d") == []
    await again.close()


async def test_a_second_process_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    """The data dir is locked by its owner: opening it again fails with a clear ConfigError."""
    buf = _open(tmp_path)
    with pytest.raises(ConfigError, match="in use by another tsad process"):
        _open(tmp_path)
    await buf.close()
    await _open(tmp_path).close()  # the lock is released on close


async def test_a_failed_write_answers_503_and_keeps_nothing_of_it(tmp_path: Path) -> None:
    """A write whose transaction fails raises BufferUnavailable, and the view is rebuilt from
    disk: the failed batch is gone, earlier points stay, later writes work."""
    buf = _open(tmp_path)
    ts = T0 + np.arange(200, dtype=np.int64) * 1_000
    await buf.append("f", ts[:100], np.zeros(100))
    conn = sqlite3.connect(tmp_path / "tsad.sqlite3", isolation_level=None)
    conn.execute(
        "CREATE TRIGGER fail BEFORE INSERT ON chunks BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
    )
    with pytest.raises(BufferUnavailable, match="disk says no"):
        await buf.append("f", ts[100:], np.ones(100))
    conn.execute("DROP TRIGGER fail")
    conn.close()
    # the rebuilt view is installed before the failed caller hears of the failure
    await buf.append("f", ts[150:151], np.array([7.0]))
    window = await buf.window("f")
    np.testing.assert_array_equal(window.ts, np.concatenate([ts[:100], ts[150:151]]))
    await buf.close()


def test_make_buffer_picks_the_embedded_store(tmp_path: Path) -> None:
    """backend='embedded' makes an EmbeddedBuffer in data_dir."""
    buf = make_buffer(BufferSettings(backend="embedded", data_dir=str(tmp_path / "x")))
    assert isinstance(buf, EmbeddedBuffer) and (tmp_path / "x" / "tsad.sqlite3").exists()
    asyncio.run(buf.close())
