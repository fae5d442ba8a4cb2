"""Batch engines for ``tsad detect`` and ``tsad forecast`` on many series.

* ``local`` — one process, one series after another (``tsad.engine.local``).
* ``dask`` — partitions of whole series on a Dask cluster: a ``LocalCluster``
  started for the run, or an existing scheduler (``tsad.engine.dask_engine``).

Both run the very same per-series job (``tsad.jobs``), so a series gets the same
model, the same calibration and the same numbers on either engine; only where the
job runs differs. For ``nhits``/``patchtst`` both first fit one global model on the
input (``tsad.engine.neural_prefit``), then every series, wherever it runs, is
predicted with that saved model. Dask is imported only when ``dask`` is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from tsad.io import SeriesData

T = TypeVar("T")

ENGINES = ("local", "dask")


def run_batch(
    series: Sequence[SeriesData],
    job: Callable[[SeriesData], T],
    what: str,
    *,
    engine: str = "local",
    scheduler: str | None = None,
) -> list[tuple[SeriesData, T]]:
    """Run ``job`` on every series with ``engine``; results in input order.

    Series the job rejects are reported and left out (the first error propagates
    when every one fails), on both engines.
    """
    if engine == "dask":
        from tsad.engine.dask_engine import run_dask

        return run_dask(series, job, what, scheduler=scheduler)
    from tsad.engine.local import run_local

    return run_local(series, job, what)


__all__ = ["ENGINES", "run_batch"]
