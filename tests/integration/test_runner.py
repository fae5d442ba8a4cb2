"""The model runner: fits in a worker process, deadlines, and no orphaned workers."""

from __future__ import annotations

import time

import pytest

from tsad.errors import DeadlineExceeded, ModelFailed
from tsad.runner import ModelRunner


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return "zombie" not in fh.read()
    except FileNotFoundError:
        return False


def _boom() -> None:
    raise ValueError("model exploded")


async def test_close_terminates_worker_processes() -> None:
    """After close(), no pool worker outlives the runner (no orphans holding pipes)."""
    runner = ModelRunner("process", 1)
    await runner.warm_up()
    pids = list(runner._executor._processes)  # type: ignore[union-attr]
    assert pids and all(_alive(p) for p in pids)
    runner.close()
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)


async def test_deadline_and_errors_become_tsad_errors() -> None:
    """A job past its deadline is DeadlineExceeded; an unexpected exception is ModelFailed."""
    runner = ModelRunner("thread", 1)
    try:
        with pytest.raises(DeadlineExceeded):
            await runner.run(time.sleep, 1.0, timeout=0.05)
        with pytest.raises(ModelFailed, match="model exploded"):
            await runner.run(_boom)
    finally:
        runner.close()


async def test_client_errors_cross_the_process_boundary_intact() -> None:
    """A NotEnoughPoints raised in a worker process arrives as itself; the pool survives."""
    import numpy as np

    from tsad.errors import NotEnoughPoints
    from tsad.jobs import forecast_job
    from tsad.settings import ModelSettings

    runner = ModelRunner("process", 1)
    ts = np.arange(3, dtype=np.int64) * 60_000
    try:
        with pytest.raises(NotEnoughPoints) as err:
            await runner.run(forecast_job, ModelSettings(), None, ts, np.ones(3), None, 2, [95.0])
        assert err.value.needed == 12 and err.value.got == 3
        ts = np.arange(30, dtype=np.int64) * 60_000
        out = await runner.run(
            forecast_job, ModelSettings(), None, ts, np.ones(30), None, 2, [95.0]
        )
        assert len(out.band) == 2
    finally:
        runner.close()
