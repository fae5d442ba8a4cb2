"""Neural models (nhits, patchtst): fit time, warm predict latency (bare torch
module vs ``NeuralForecast.predict``, same run) and M4 Hourly accuracy.

    nice python3 benchmarks/bench_neural.py latency
    nice python3 benchmarks/bench_neural.py m4 [--steps 1000] [--limit N]
        [--models stats,nhits,patchtst]

Models are written to a temporary directory; nothing is downloaded. M4 loading
and Naive2/OWA come from ``tsad.bench.m4`` / ``tsad.bench.m4_metrics``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tsad.models.neural import NeuralForecaster, NHITSForecaster, PatchTSTForecaster
from tsad.series import Series
from tsad.settings import ModelSettings

HOUR = 3_600_000
KINDS: dict[str, type[NeuralForecaster]] = {
    "nhits": NHITSForecaster,
    "patchtst": PatchTSTForecaster,
}


def synthetic(n_series: int, n: int = 600) -> list[Series]:
    rng = np.random.default_rng(7)
    out = []
    t = np.arange(n)
    for i in range(n_series):
        level = 10 ** rng.uniform(0, 4)
        y = level * (1 + 0.2 * np.sin(2 * np.pi * (t + i) / 24)) + rng.normal(0, 0.02 * level, n)
        out.append(Series((t * HOUR).astype(np.int64), y))
    return out


def timed(fn: Callable[[], Any], reps: int) -> float:
    """Median wall time of ``fn`` in ms after two warm-up calls."""
    fn()
    fn()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def _measure(fc: NeuralForecaster, module: Any, nf: Any, hist: list[Series]) -> str:
    """bare module · full forecaster path · NeuralForecast.predict, for these series."""
    from tsad.models.neural_fast import predict_windows
    from tsad.models.neural_quiet import quiet
    from tsad.models.neural_train import training_frame

    L = fc.spec(HOUR).input_size
    windows = np.stack([s.y[-L:] for s in hist])
    frame = training_frame([s.y for s in hist])
    bare = timed(lambda: predict_windows(module, windows), 50)
    if len(hist) == 1:
        full = timed(lambda: fc.forecast(hist[0], HOUR, 24, [95]), 50)
    else:
        full = timed(lambda: fc.forecast_many(hist, HOUR, 24, [95]), 20)
    with quiet():
        lightning = timed(lambda: nf.predict(df=frame), 10)
    return (
        f"{bare:8.2f}ms {full:8.2f}ms {lightning:9.1f}ms"
        f" {lightning / bare:6.0f}x {lightning / full:6.0f}x |"
    )


def _latency_row(kind: str, cls: type[NeuralForecaster], data: list[Series]) -> str:
    from tsad.models.neural_train import fit_module

    with tempfile.TemporaryDirectory() as tmp:
        fc = cls(ModelSettings(model_dir=tmp))
        spec = fc.spec(HOUR)
        start = time.perf_counter()
        fc.fit_many(data, HOUR)
        fit_s = time.perf_counter() - start
        # the Lightning peer: the same spec trained through the same code path
        nf = fit_module(spec, [s.y for s in data[:2]]).nf
        found = fc._global(spec, HOUR)
        assert found is not None
        cells = [_measure(fc, found[1], nf, data[:n]) for n in (1, 100)]
        return f"{kind:9s} {fit_s:8.1f}  {spec.max_steps:5d} | " + " ".join(cells)


def _bag_row(data: list[Series]) -> str:
    """``model=patchtst`` as served: the four-network bag (one traced graph of the four
    for one window), against ``NeuralForecast.predict`` of four networks of its spec."""
    from tsad.models.neural_train import fit_module
    from tsad.models.patchtst_bag import PatchTSTBag

    with tempfile.TemporaryDirectory() as tmp:
        bag = PatchTSTBag(ModelSettings(model_dir=tmp, neural_max_steps=100))
        start = time.perf_counter()
        bag.fit_many(data, HOUR)
        fit_s = time.perf_counter() - start
        spec = bag.members[0].spec(HOUR)
        nf = fit_module(spec, [s.y for s in data[:2]]).nf
        cells = [_bag_cell(bag, nf, data[:n]) for n in (1, 100)]
        return f"{'ptst-bag':9s} {fit_s:8.1f}  {4 * 100:5d} | " + " ".join(cells)


def _bag_cell(bag: Any, nf: Any, hist: list[Series]) -> str:
    """The bag's four networks alone (``predict_many``), its whole forecaster path, and
    NF.predict of four such networks, for these series."""
    from tsad.models.neural_fast import input_windows, predict_many
    from tsad.models.neural_quiet import quiet
    from tsad.models.neural_train import training_frame

    found = [m.resolve(hist, HOUR, 48, global_only=True) for m in bag.members]
    modules = [module for _, _, module in found]
    windows = input_windows(found[0][0], found[0][1].input_size)
    bare = timed(lambda: predict_many(modules, windows, 48), 50 if len(hist) == 1 else 20)
    frame = training_frame([s.y for s in hist])
    if len(hist) == 1:
        full = timed(lambda: bag.forecast(hist[0], HOUR, 24, [95]), 50)
    else:
        full = timed(lambda: bag.forecast_many(hist, HOUR, 24, [95]), 20)
    with quiet():
        # the peer runs the same four networks: four NeuralForecast.predict calls
        lightning = timed(lambda: [nf.predict(df=frame) for _ in bag.members], 5)
    return (
        f"{bare:8.2f}ms {full:8.2f}ms {lightning:9.1f}ms"
        f" {lightning / bare:6.0f}x {lightning / full:6.0f}x |"
    )


def latency() -> None:
    data = synthetic(100)
    print(
        "kind      fit100[s]  steps | 1 series: bare  forecast()  NF.predict"
        "  NF/bare  NF/forecast()"
        " | 100 series: bare  forecast_many()  NF.predict  NF/bare  NF/forecast_many()"
    )
    for kind, cls in KINDS.items():
        print(_latency_row(kind, cls, data), flush=True)
    print(_bag_row(data), flush=True)


def m4(steps: int, limit: int | None, models: list[str]) -> None:
    import pandas as pd
    from utilsforecast.losses import coverage, mase, smape

    from tsad.bench.m4 import SEASON, STEP_MS, H, load_m4
    from tsad.bench.m4_metrics import naive2, owa
    from tsad.models.stats import StatsForecaster

    series = load_m4(Path("/work/shared/data/m4/Hourly-train.csv"), None, limit)
    hist = [Series(np.arange(s.train.shape[0], dtype=np.int64) * STEP_MS, s.train) for s in series]
    print(f"M4 Hourly: {len(series)} series, h={H}, last {H} held out")
    print("model     sMAPE    MASE    OWA   cov95  fit[s]  predict[s]")
    for name in models:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            if name == "stats":
                fit_s = 0.0
                fcs = [StatsForecaster().forecast(h, STEP_MS, H, [95]) for h in hist]
            else:
                fc = KINDS[name](ModelSettings(model_dir=tmp))
                fc.fit_many(hist, STEP_MS, H, max_steps=steps)
                fit_s = time.perf_counter() - start
                start = time.perf_counter()
                fcs = fc.forecast_many(hist, STEP_MS, H, [95], fit_if_missing=False)
            pred_s = time.perf_counter() - start
        rows, train_rows = [], []
        for s, f in zip(series, fcs, strict=True):
            n = s.train.shape[0]
            rows.append(
                pd.DataFrame(
                    {
                        "unique_id": s.uid,
                        "ds": np.arange(n, n + H),
                        "y": s.test,
                        "m": f.band.mean,
                        "m-lo-95": f.band.lo[95],
                        "m-hi-95": f.band.hi[95],
                        "Naive2": naive2(s.train, H, SEASON),
                    }
                )
            )
            train_rows.append(pd.DataFrame({"unique_id": s.uid, "ds": np.arange(n), "y": s.train}))
        df, train = pd.concat(rows), pd.concat(train_rows)
        sm = smape(df, ["m", "Naive2"]).drop(columns="unique_id").mean() * 200
        ms = mase(df, ["m", "Naive2"], SEASON, train).drop(columns="unique_id").mean()
        cov = float(coverage(df, ["m"], level=95)["m"].mean())
        score = owa(sm["m"], ms["m"], sm["Naive2"], ms["Naive2"])
        print(
            f"{name:9s} {sm['m']:6.2f} {ms['m']:7.3f} {score:6.3f} {cov:6.3f} {fit_s:7.1f}"
            f" {pred_s:9.2f}",
            flush=True,
        )
    print(f"(neural: fit_many on all series, {steps} steps, 1 fit thread)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("part", choices=["latency", "m4"])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--models", default="stats,nhits,patchtst")
    args = parser.parse_args()
    if args.part == "latency":
        latency()
    else:
        m4(args.steps, args.limit, args.models.split(","))


if __name__ == "__main__":
    main()
