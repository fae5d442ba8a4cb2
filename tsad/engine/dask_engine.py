"""The Dask batch engine: whole series per partition, on a Dask cluster.

The input is laid out as a Dask DataFrame indexed by series ordinal (its place in
the file), cut between series so every partition holds whole series; the pieces
are scattered to the workers (not embedded in the task graph, which would ship
the data through the scheduler), and ``map_partitions`` runs tsad's own
per-series job on each. The outcomes come back in file order, so the CLI writes
exactly the files the local engine writes.

Why not statsforecast's own distributed path (``StatsForecast.forecast(df=dask_df)``
over fugue): it applies one list of models to every series, while tsad picks the
model per series (MSTL seasons and the ETS trend depend on the series' length and
step, flat series are special-cased), regularises each series first, and
calibrates each band from the series' own in-sample residuals and a refit on a
holdout. None of that fits the one-model-list interface, so the results would
differ from the local engine; running the same job per partition keeps them equal.

Without ``--scheduler`` a ``LocalCluster`` of two worker processes (one thread
each: statsforecast is single-threaded numpy) is started for the run and closed
after it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from tsad.engine.local import err, progress_columns
from tsad.errors import TsadError

if TYPE_CHECKING:
    from distributed import Client

    from tsad.io import SeriesData

T = TypeVar("T")

LOCAL_WORKERS = 2
SERIES_PER_PARTITION = 100  # small enough for a smooth progress bar, large enough to amortise
_META = pd.DataFrame({"ordinal": pd.Series(dtype=np.int64), "result": pd.Series(dtype=object)})


@contextmanager
def dask_client(scheduler: str | None = None) -> Iterator[Client]:
    """A client of ``scheduler`` (host:port), or of a LocalCluster started for the run."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=LOCAL_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def series_frame(series: Sequence[SeriesData]) -> pd.DataFrame:
    """Long table ``unique_id, ts, y`` indexed by series ordinal (file order)."""
    sizes = np.fromiter((len(s.ts) for s in series), np.int64, len(series))
    return pd.DataFrame(
        {
            "unique_id": np.repeat(np.array([s.series_id or "" for s in series], object), sizes),
            "ts": np.concatenate([s.ts for s in series]) if series else np.empty(0, np.int64),
            "y": np.concatenate([s.y for s in series]) if series else np.empty(0),
        },
        index=pd.Index(np.repeat(np.arange(len(series)), sizes), name="ordinal"),
    )


def partition_bounds(n_series: int, workers: int, per_partition: int) -> list[int]:
    """Series ordinals where partitions start (plus the end): at least two per worker."""
    parts = max(min(n_series, 2 * workers), math.ceil(n_series / per_partition))
    return [round(i * n_series / parts) for i in range(parts + 1)]


def run_partition(part: pd.DataFrame, job: Callable[[SeriesData], Any]) -> pd.DataFrame:
    """Run ``job`` on every series of one partition; a rejected series carries its error."""
    from tsad.io import SeriesData

    ordinals: list[int] = []
    results: list[object] = []
    index = part.index.to_numpy()
    if not len(index):
        return _META.copy()
    starts: list[int] = np.flatnonzero(np.r_[True, index[1:] != index[:-1]]).tolist()
    ends = [*starts[1:], len(index)]
    for a, b in zip(starts, ends, strict=True):
        sid = str(part["unique_id"].iat[a]) or None
        data = SeriesData(sid, part["ts"].to_numpy()[a:b].copy(), part["y"].to_numpy()[a:b].copy())
        try:
            results.append(job(data))
        except TsadError as exc:
            results.append(exc)
        ordinals.append(int(index[a]))
    return pd.DataFrame({"ordinal": np.asarray(ordinals, np.int64), "result": results})


def run_dask(
    series: Sequence[SeriesData],
    job: Callable[[SeriesData], T],
    what: str,
    *,
    scheduler: str | None = None,
    client: Client | None = None,
    per_partition: int = SERIES_PER_PARTITION,
) -> list[tuple[SeriesData, T]]:
    """Like ``run_local`` but partitioned over Dask workers; a bar tracks partitions."""
    if client is None:
        with dask_client(scheduler) as own:
            return run_dask(series, job, what, client=own, per_partition=per_partition)
    import dask.dataframe as dd
    from distributed import as_completed
    from rich.progress import Progress

    frame = series_frame(series)
    workers = max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))
    bounds = partition_bounds(len(series), workers, per_partition)
    rows = np.searchsorted(frame.index.to_numpy(), bounds)
    pieces = [frame.iloc[a:b] for a, b in itertools.pairwise(rows)]
    divisions = (*bounds[:-1], bounds[-1] - 1)
    ddf = dd.from_delayed(client.scatter(pieces), meta=frame.iloc[:0], divisions=divisions)
    outcome = ddf.map_partitions(run_partition, job, meta=_META, align_dataframes=False)
    futures = client.compute(outcome.to_delayed())
    found: dict[int, object] = {}
    with Progress(*progress_columns(), console=err, transient=False) as progress:
        task = progress.add_task(f"{what} · {len(pieces)} partitions", total=len(pieces))
        for future in as_completed(futures):
            done = future.result()
            found.update(zip(done["ordinal"].tolist(), done["result"].tolist(), strict=True))
            progress.advance(task)
    return _in_order(series, found)


def _in_order(series: Sequence[SeriesData], found: dict[int, Any]) -> list[tuple[SeriesData, Any]]:
    """Outcomes in file order; rejected series reported (first error raised if all failed)."""
    out: list[tuple[SeriesData, Any]] = []
    first_error: TsadError | None = None
    for i, s in enumerate(series):
        result = found[i]
        if isinstance(result, TsadError):
            first_error = first_error or result
            err.print(f"tsad: skipped series {s.series_id}: {result.detail}")
            continue
        # the caller's SeriesData: the worker's copy lacks the dropped-rows count
        out.append((s, result))
    if not out and first_error is not None:
        raise first_error
    return out
