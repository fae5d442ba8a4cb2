"""The bundled ``tsad-base`` model on series it never saw, with short histories,
against ``stats`` and seasonal naive fed the same truncated histories; and its warm
predict latency against ``NeuralForecast.predict`` of the same network, same run.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_tsad_base.py accuracy \
        [--days 2,4,7,13] [--limit N]
    nice python benchmarks/bench_tsad_base.py latency

Accuracy: M4 Hourly's held-out half (``train_tsad_base.split``; the last 48 of
each training series are the target, the ``d`` days before them the history) and
NAB's series resampled to hourly means (targets: the last 48 hours before each of
up to 4 weekly origins). Scores: sMAPE, MASE, OWA against Naive2 computed on the
same truncated history, and 95% coverage (seasonal naive has no band); the figures
are drawn to ``--png`` (default ``bench-out/tsad-base.png``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from m4_holdout import M4_TRAIN, Score, score
from train_tsad_base import split

from tsad.bench.m4 import SEASON, H, M4Series, load_m4
from tsad.series import FloatArray, Series

HOUR = 3_600_000
NAB_DATA = M4_TRAIN.parents[1] / "nab" / "data"


def heldout_m4(limit: int | None) -> list[M4Series]:
    _, held = split()
    keep = set(held)
    out = [s for s in load_m4(M4_TRAIN, None) if s.uid in keep]
    return out[:limit] if limit else out


def nab_hourly(min_points: int) -> list[M4Series]:
    """NAB series as hourly means; up to 4 weekly origins each with 48 hours after."""
    import pandas as pd

    out = []
    for path in sorted(NAB_DATA.glob("*/*.csv")):
        frame = pd.read_csv(path, parse_dates=["timestamp"])
        frame = frame.drop_duplicates("timestamp", keep="last").sort_values("timestamp")
        y = frame.set_index("timestamp")["value"].resample("1h").mean().interpolate()
        y = y.to_numpy(np.float64)
        for k in range(4):
            end = y.shape[0] - k * 168
            if end - H < min_points:
                break
            uid = f"{path.parent.name}/{path.stem}@{k}"
            out.append(M4Series(uid, y[: end - H], y[end - H : end]))
    return out


def _seasonal_naive(y: FloatArray) -> FloatArray:
    return np.resize(y[-SEASON:], H)


def truncated(series: list[M4Series], days: int) -> list[Series]:
    """Each series' last ``days`` days before its target, on an hourly grid."""
    hist = [s.train[-days * SEASON :] for s in series]
    return [Series(np.arange(y.shape[0], dtype=np.int64) * HOUR, y) for y in hist]


def evaluate(
    series: list[M4Series], days: int, weights: Path | None = None, *, calibrated: bool = True
) -> dict[str, Score]:
    """tsad-base (served bands, or its raw quantiles), ``stats`` and seasonal naive on
    the ``days`` before each target."""
    from tsad.models.pretrained_base import BaseModelForecaster
    from tsad.models.stats import StatsForecaster

    histories = truncated(series, days)
    hist = [h.y for h in histories]
    out: dict[str, Score] = {}
    base = BaseModelForecaster(root=weights, calibrated=calibrated).forecast_many(
        histories, HOUR, H, [95]
    )
    out["tsad-base"] = score(
        series,
        [f.band.mean for f in base],
        [f.band.lo[95] for f in base],
        [f.band.hi[95] for f in base],
        trains=hist,
    )
    stats = StatsForecaster()
    fcs = [stats.forecast(h, HOUR, H, [95]) for h in histories]
    out["stats"] = score(
        series,
        [f.band.mean for f in fcs],
        [f.band.lo[95] for f in fcs],
        [f.band.hi[95] for f in fcs],
        trains=hist,
    )
    out["seasonal naive"] = score(series, [_seasonal_naive(y) for y in hist], trains=hist)
    return out


def accuracy(
    days: list[int], limit: int | None, weights: Path | None = None, png: Path | None = None
) -> None:
    import torch

    torch.set_num_threads(1)
    sets = {"M4 held-out half": heldout_m4(limit), "NAB hourly": nab_hourly(max(days) * SEASON)}
    results: dict[str, dict[int, dict[str, Score]]] = {}
    for label, series in sets.items():
        print(f"{label}: {len(series)} series, h={H}")
        print("days  model            sMAPE   MASE    OWA  cov95")
        for d in days:
            scores = results.setdefault(label, {})[d] = evaluate(series, d, weights)
            for name, sc in scores.items():
                print(f"{d:4d}  {name:14s} {sc.row()}", flush=True)
    if png is not None:
        draw(results, png)
        print(f"wrote {png}")


def draw(results: dict[str, dict[int, dict[str, Score]]], png: Path) -> None:
    """OWA (top) and 95% coverage (bottom) against history length, one column per set."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 6), dpi=110, layout="constrained")
    axes = fig.subplots(2, len(results), squeeze=False, sharex=True)
    for col, (label, by_days) in enumerate(results.items()):
        days = sorted(by_days)
        models = list(by_days[days[0]])
        for name in models:
            owa = [by_days[d][name].owa for d in days]
            axes[0][col].plot(days, owa, marker="o", label=name)
            cover = [by_days[d][name].coverage for d in days]
            if np.all(np.isfinite(cover)):
                axes[1][col].plot(days, cover, marker="o", label=name)
        axes[0][col].set_title(f"{label}: OWA (lower is better)", fontsize=10, loc="left")
        axes[1][col].axhline(0.95, color="grey", linestyle="--", linewidth=0.8)
        axes[1][col].set_title("95% band coverage", fontsize=10, loc="left")
        axes[1][col].set_xlabel("days of hourly history")
        for ax in (axes[0][col], axes[1][col]):
            ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=8)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, format="png")


def timed(fn: Callable[[], Any], reps: int) -> float:
    """Median wall time in ms after two warm-up calls."""
    fn()
    fn()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def latency() -> None:
    from dataclasses import replace

    from tsad.models.neural_fast import predict_windows
    from tsad.models.neural_quiet import quiet
    from tsad.models.neural_train import fit_module, training_frame
    from tsad.models.pretrained_base import BaseModelForecaster, load_bundled

    spec, module = load_bundled()
    rng = np.random.default_rng(3)
    # the Lightning peer needs input + horizon points to build its one window
    t = np.arange(spec.input_size + spec.h + SEASON)
    y = 100 + 10 * np.sin(2 * np.pi * t / SEASON) + rng.normal(0, 1, t.shape[0])
    s = Series((t * HOUR).astype(np.int64), y)
    fc = BaseModelForecaster()
    # the Lightning peer: the same network (bundled weights) behind NeuralForecast.predict
    nf = fit_module(replace(spec, max_steps=1), [y]).nf
    nf.models[0].load_state_dict(module.state_dict())
    frame = training_frame([y])
    fc.forecast(s, HOUR, 24, [95])  # pins predict threads (TSAD_NEURAL_THREADS, default 1)
    bare = timed(lambda: predict_windows(module, y[None, -spec.input_size :]), 100)
    full = timed(lambda: fc.forecast(s, HOUR, 24, [95]), 100)
    with quiet():
        lightning = timed(lambda: nf.predict(df=frame), 10)
    print("tsad-base, 1 series, warm: traced module · forecast() · NeuralForecast.predict")
    ratio = lightning / full
    print(f"{bare:.2f} ms · {full:.2f} ms · {lightning:.1f} ms ({ratio:.0f}x forecast())")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("part", choices=["accuracy", "latency"])
    parser.add_argument("--days", default="2,4,7,13")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument(
        "--weights", type=Path, default=None, help="a trained model directory (default: bundled)"
    )
    parser.add_argument(
        "--png", type=Path, default=Path("bench-out/tsad-base.png"), help="the accuracy plot"
    )
    args = parser.parse_args()
    if args.part == "accuracy":
        accuracy([int(d) for d in args.days.split(",")], args.limit, args.weights, args.png)
    else:
        latency()


if __name__ == "__main__":
    main()
