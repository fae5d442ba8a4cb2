"""The model (cold) path's executor: CPU-bound fits never run on the event loop.

``ModelRunner`` sends a job — a picklable top-level function — to a worker
process (default) or a thread, and waits for it with a deadline. Jobs find their
forecaster through ``shared_registry`` so each worker process builds a model once
and keeps it warm.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from tsad.errors import DeadlineExceeded, ModelFailed, TsadError
from tsad.lifeline import exit_with_parent
from tsad.models.catalogue import needs_extra
from tsad.models.registry import ModelRegistry
from tsad.settings import ModelSettings

T = TypeVar("T")
log = logging.getLogger("tsad.runner")

_REGISTRIES: dict[ModelSettings, ModelRegistry] = {}


def shared_registry(settings: ModelSettings) -> ModelRegistry:
    """One registry per settings in this process (workers keep models warm)."""
    reg = _REGISTRIES.get(settings)
    if reg is None:
        reg = _REGISTRIES[settings] = ModelRegistry(settings)
    return reg


def _warm_up(model: str | None = None) -> bool:
    # importing statsforecast costs ~1 s (neuralforecast ~8 s): pay it when the pool
    # starts, not on a request
    import statsforecast.models  # noqa: F401

    if model is not None and needs_extra(model, "neural"):
        import neuralforecast.models  # noqa: F401
    return True


class ModelRunner:
    """Runs jobs in a process pool (``mode='process'``) or a thread pool."""

    def __init__(self, mode: str = "process", workers: int = 1) -> None:
        self.mode = mode
        self.workers = workers
        self._executor: Executor | None = None

    def _pool(self) -> Executor:
        if self._executor is None:
            if self.mode == "process":
                ctx = multiprocessing.get_context("spawn")
                self._executor = ProcessPoolExecutor(
                    self.workers,
                    mp_context=ctx,
                    initializer=exit_with_parent,  # no orphan, however this process dies
                    initargs=(os.getpid(),),
                )
            else:
                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="tsad-model")
        return self._executor

    async def warm_up(self, model: str | None = None) -> None:
        await self.run(_warm_up, model, timeout=120)

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(self._pool(), functools.partial(fn, *args))
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for loses a cancellation
            # that arrives as the job finishes, and the cancelled task runs on
            async with asyncio.timeout(timeout):
                return await fut
        except BrokenProcessPool:
            # a worker died (killed, out of memory): start a fresh pool next time
            self.close()
            raise ModelFailed("the model worker process died; the request can be retried") from None
        except TimeoutError:
            raise DeadlineExceeded(
                f"the model did not finish within {timeout:g} s; retry later or use a faster model"
            ) from None
        except TsadError:
            raise
        except Exception as exc:
            log.exception("model job %s failed", getattr(fn, "__name__", fn))
            raise ModelFailed(f"the model failed: {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """Stop the pool now. Worker processes are terminated, not awaited: a fit in
        flight is abandoned (its request already has an answer or a deadline), and a
        worker must never outlive the server as an orphan holding its pipes."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list(getattr(executor, "_processes", None) or {})
        procs = [executor._processes[pid] for pid in processes]  # type: ignore[attr-defined]
        executor.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
