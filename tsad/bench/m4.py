"""``tsad bench m4``: M4 Hourly accuracy of a registered model, h = 48.

Reads M4's wide format (``V1`` = id, ``V2…`` = values, right-padded). Without a
test file the last 48 values of each series are held out. sMAPE, MASE and
coverage come from ``utilsforecast.losses``; Naive2 runs in the same pass so
OWA needs no published constants.
"""

from __future__ import annotations

import inspect
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import Progress

from tsad.bench import report
from tsad.bench.m4_metrics import msis, naive2, owa, seasonal_scale
from tsad.errors import InvalidInput
from tsad.series import FloatArray, Series
from tsad.settings import ModelSettings

H = 48
SEASON = 24
STEP_MS = 3_600_000
LEVEL = 95.0


@dataclass(frozen=True)
class M4Series:
    uid: str
    train: FloatArray
    test: FloatArray


def read_wide(path: Path) -> dict[str, FloatArray]:
    """M4 wide CSV → {id: values without padding}."""
    frame = pd.read_csv(path)
    ids = frame.iloc[:, 0].astype(str).tolist()
    values = frame.iloc[:, 1:].to_numpy(np.float64)
    return {uid: row[~np.isnan(row)] for uid, row in zip(ids, values, strict=True)}


def load_m4(train: Path, test: Path | None, limit: int | None = None) -> list[M4Series]:
    """Train (and test, or the last ``H`` of train held out) series in file order."""
    tr = read_wide(train)
    te = read_wide(test) if test is not None else None
    out: list[M4Series] = []
    for uid, y in tr.items():
        if te is not None:
            if uid not in te:
                raise InvalidInput(f"series {uid} is missing from {test}")
            out.append(M4Series(uid, y, te[uid][:H]))
        else:
            out.append(M4Series(uid, y[:-H], y[-H:]))
        if limit is not None and len(out) >= limit:
            break
    return out


def run_m4(
    train: Path,
    test: Path | None,
    model: str,
    out: Path,
    *,
    limit: int | None = None,
    console: Console | None = None,
    max_steps: int | None = None,
    jobs: int = 1,
) -> dict[str, Any]:
    """Forecast every series with ``model`` and Naive2; score and report."""
    from utilsforecast.losses import coverage, mase, smape

    from tsad.models.registry import ModelRegistry

    console = console or Console()
    # a fresh model directory: a global model is trained in this run, never reused
    # from an earlier one (its time is part of the figure)
    models_dir = tempfile.TemporaryDirectory(prefix="tsad-m4-")
    registry = ModelRegistry(ModelSettings(model_dir=models_dir.name))
    forecaster = registry.get(model)
    name = registry.resolve(model)
    series = load_m4(train, test, limit)
    rows: list[pd.DataFrame] = []
    train_rows: list[pd.DataFrame] = []
    intervals: list[float] = []
    used: dict[str, int] = {}
    start = time.perf_counter()
    fit_many = getattr(forecaster, "fit_many", None)
    if fit_many is not None:
        # global models learn from every training series once, then forecast each
        histories = [
            Series(np.arange(s.train.shape[0], dtype=np.int64) * STEP_MS, s.train) for s in series
        ]
        with Progress(console=console) as bar:
            fit_task = bar.add_task(f"fit {name} on {len(series)} series", total=None)

            def on_step(step: int, total: int) -> None:
                bar.update(fit_task, completed=step, total=total)

            extra: dict[str, Any] = {}
            if jobs > 1 and "workers" in inspect.signature(fit_many).parameters:
                extra["workers"] = jobs  # the ensemble trains its members side by side
            # without --steps a global model trains as long as the service's global fit does
            steps = max_steps or getattr(forecaster, "global_steps", None)
            fit_many(histories, STEP_MS, H, max_steps=steps, progress=on_step, **extra)
    with Progress(console=console) as bar:
        task = bar.add_task(f"M4 Hourly · {name}", total=len(series))
        for s in series:
            ts = np.arange(s.train.shape[0], dtype=np.int64) * STEP_MS
            fc = forecaster.forecast(Series(ts, s.train), STEP_MS, H, [LEVEL])
            used[fc.model_used] = used.get(fc.model_used, 0) + 1
            band = fc.band
            n = s.train.shape[0]
            rows.append(
                pd.DataFrame(
                    {
                        "unique_id": s.uid,
                        "ds": np.arange(n, n + H),
                        "y": s.test,
                        name: band.mean,
                        f"{name}-lo-95": band.lo[LEVEL],
                        f"{name}-hi-95": band.hi[LEVEL],
                        "Naive2": naive2(s.train, H, SEASON),
                    }
                )
            )
            train_rows.append(pd.DataFrame({"unique_id": s.uid, "ds": np.arange(n), "y": s.train}))
            intervals.append(
                msis(s.test, band.lo[LEVEL], band.hi[LEVEL], seasonal_scale(s.train, SEASON))
            )
            bar.advance(task)
    seconds = time.perf_counter() - start
    models_dir.cleanup()
    df = pd.concat(rows, ignore_index=True)
    train_df = pd.concat(train_rows, ignore_index=True)
    models = [name, "Naive2"]
    s_mape = smape(df, models).drop(columns="unique_id").mean() * 200.0  # M4 scale, percent
    m_ase = mase(df, models, SEASON, train_df).drop(columns="unique_id").mean()
    cov = coverage(df, [name], level=int(LEVEL)).drop(columns="unique_id").mean()
    result: dict[str, Any] = {
        "model": name,
        "models_used": used,
        "series": len(series),
        "h": H,
        "holdout": test is None,
        "seconds": seconds,
        "smape": float(s_mape[name]),
        "mase": float(m_ase[name]),
        "owa": owa(s_mape[name], m_ase[name], s_mape["Naive2"], m_ase["Naive2"]),
        "coverage_95": float(cov[name]),
        "msis_95": float(np.mean(intervals)),
        "naive2": {"smape": float(s_mape["Naive2"]), "mase": float(m_ase["Naive2"])},
    }
    header = ["model", "sMAPE", "MASE", "OWA", "coverage 95", "MSIS 95", "seconds"]
    table_rows: list[list[object]] = [
        [
            name,
            result["smape"],
            result["mase"],
            result["owa"],
            result["coverage_95"],
            result["msis_95"],
            seconds,
        ],
        ["Naive2", result["naive2"]["smape"], result["naive2"]["mase"], 1.0, "-", "-", "-"],
    ]
    console.print(report.table(f"M4 Hourly, h={H}, {len(series)} series", header, table_rows))
    report.write_json(out / f"m4_{name}.json", result)
    md = [f"# M4 Hourly · {name}", "", report.markdown_table(header, table_rows), ""]
    (out / f"m4_{name}.md").write_text("\n".join(md))
    return result
