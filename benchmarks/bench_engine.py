"""Batch ``stats`` detection on many M4-like series: local engine vs Dask LocalCluster.

Series are generated seeded from M4 Hourly: each is a random window of a random
training row (``--length`` hourly points, default two weeks), scaled and with a
little noise, so every series is different but M4-shaped. Both engines run the
same per-series job (``tsad.jobs.detect_job``, model ``stats``, level 99, batch
mode) on the same series in the same run; the Dask side starts a LocalCluster of
``--workers`` single-threaded worker processes (startup included in its time, and
reported apart). Figures: series/s each, the ratio, the local per-series cost
(one core) and what that cost extrapolates to per core.

Run from the repo root: ``nice python3 benchmarks/bench_engine.py --series 10000``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tsad.engine.dask_engine import run_dask
from tsad.engine.local import run_local
from tsad.io import SeriesData
from tsad.jobs import DetectOutcome, detect_job
from tsad.settings import ModelSettings

M4_HOURLY = Path(__file__).resolve().parents[2] / "shared" / "data" / "m4" / "Hourly-train.csv"
T0 = 1_704_067_200_000
HOUR = 3_600_000
SETTINGS = ModelSettings()


def m4_like(n: int, length: int, seed: int = 0) -> list[SeriesData]:
    """``n`` seeded hourly series resampled from M4 Hourly training rows."""
    rows = pd.read_csv(M4_HOURLY).drop(columns="V1").to_numpy(np.float64)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        row = rows[rng.integers(len(rows))]
        row = row[~np.isnan(row)]
        start = int(rng.integers(0, max(1, len(row) - length)))
        y = row[start : start + length] * rng.uniform(0.5, 2.0)
        y = y + rng.normal(0, 0.01 * (np.std(y) + 1e-9), len(y))
        out.append(SeriesData(f"m4-{i:05d}", T0 + np.arange(len(y), dtype=np.int64) * HOUR, y))
    return out


def detect(s: SeriesData) -> DetectOutcome:
    return detect_job(SETTINGS, "stats", s.ts, s.y, None, 99.0, "batch")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--length", type=int, default=336, help="hourly points per series")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--per-partition", type=int, default=100)
    args = ap.parse_args()

    series = m4_like(args.series, args.length)
    points = sum(len(s.ts) for s in series)
    print(f"{args.series:,} M4-like series, {points:,} points, {os.cpu_count()} cores")

    started = time.perf_counter()
    cpu0 = time.process_time()
    local = run_local(series, detect, "local")
    local_s = time.perf_counter() - started
    cost = (time.process_time() - cpu0) / len(series)

    from distributed import Client, LocalCluster

    started = time.perf_counter()
    with (
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        ready_s = time.perf_counter() - started
        remote = run_dask(series, detect, "dask", client=client, per_partition=args.per_partition)
    dask_s = time.perf_counter() - started

    same = all(
        a.report.model_used == b.report.model_used
        and np.allclose(a.scored.expected, b.scored.expected, equal_nan=True)
        and np.array_equal(a.scored.is_anomaly, b.scored.is_anomaly)
        for (_, a), (_, b) in zip(local, remote, strict=True)
    )
    models = pd.Series([o.report.model_used for _, o in local]).value_counts().to_dict()
    print(f"models: {models}; dask results equal local: {same}")
    print(f"local engine        : {local_s:8.1f} s  {len(local) / local_s:8.1f} series/s")
    print(
        f"dask {args.workers} workers      : {dask_s:8.1f} s  {len(remote) / dask_s:8.1f} series/s"
        f"  (cluster start {ready_s:.1f} s)  ratio {local_s / dask_s:.2f}x"
    )
    print(
        f"local per-series CPU cost {cost * 1000:.1f} ms → {1 / cost:.0f} series/s per core, "
        f"{3_600 / cost:,.0f} series/hour per core"
    )


if __name__ == "__main__":
    main()
