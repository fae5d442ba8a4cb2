"""``tsad bench skab``: the multivariate detectors on SKAB, by SKAB's protocol.

Per file (one experiment): fit on its first ``TRAIN_ROWS`` rows (the normal
start of every run, as SKAB's notebooks do), score every row causally, evaluate
the rows after the training part (SKAB's proposed leaderboard scores the test
part only). Outliers: pooled F1 / FAR / MAR of the flags at default sensitivity;
change points: NAB (60 s windows to the right) on the group's change points
(``is_change_point``, the onsets of its change statistic), and, for reference, on
the edges of the outlier flags (how SKAB's notebooks derive change points from an
outlier detector) (``tsad.bench.skab_scoring``). ``--cv`` chooses each detector's
constants by leave-one-folder-out cross-validation — the outlier statistic's by
F1, the change statistic's by NAB standard — and reports the held-out figures.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tsad.bench.skab_scoring import binary_metrics, edges, nab_scores
from tsad.multivariate.align import Aligned
from tsad.multivariate.features import trailing_mean_1d
from tsad.multivariate.online import OnlineGroupScorer
from tsad.multivariate.scoring import (
    CHANGE_TUNING,
    TUNING,
    Tuning,
    fit_model,
    fit_statistic,
    onsets,
    score_aligned,
    to_score,
)
from tsad.series import BoolArray, FloatArray

TRAIN_ROWS = 400
#: rows replayed through the hot path (from the first files) to time it
TIMED_ROWS = 3_000
LABELS = ("anomaly", "changepoint")


@dataclass(frozen=True)
class SkabFile:
    folder: str
    name: str
    aligned: Aligned
    anomaly: BoolArray
    changepoint: BoolArray


def load_skab(data: Path) -> list[SkabFile]:
    """Every labelled SKAB csv under ``data`` (``anomaly-free`` has no labels: skipped)."""
    files = []
    for path in sorted(data.rglob("*.csv")):
        df = pd.read_csv(path, sep=";")
        if "anomaly" not in df.columns:
            continue
        ts = pd.to_datetime(df["datetime"]).to_numpy().astype("datetime64[ms]").astype(np.int64)
        cols = [c for c in df.columns if c not in (*LABELS, "datetime")]
        values = df[cols].to_numpy(dtype=np.float64)
        aligned = Aligned(ts, values, tuple(cols), (0,) * len(cols), 1000)
        files.append(
            SkabFile(
                path.parent.name,
                path.stem,
                aligned,
                df["anomaly"].to_numpy() > 0,
                df["changepoint"].to_numpy() > 0,
            )
        )
    return files


def ratios(f: SkabFile, name: str, tuning: Tuning) -> FloatArray:
    """One statistic's raw (unsmoothed) ratio on every row, fitted on the training rows."""
    feats = tuning.features(f.aligned.values)
    return fit_statistic(name, feats[:TRAIN_ROWS], tuning).ratio(feats)


def flags_from(ratio: FloatArray, tuning: Tuning) -> BoolArray:
    from tsad.detect.threshold import DEFAULT_SENSITIVITY, threshold_for

    score = to_score(trailing_mean_1d(ratio, tuning.smooth), tuning.k)
    return score >= threshold_for(DEFAULT_SENSITIVITY)


def _test(x: BoolArray) -> BoolArray:
    return x[TRAIN_ROWS:]


def f1_of(files: Sequence[SkabFile], flags: Sequence[BoolArray]) -> float:
    return binary_metrics([_test(f.anomaly) for f in files], [_test(p) for p in flags]).f1


def nab_of(files: Sequence[SkabFile], cps: Sequence[BoolArray]) -> float:
    ts = [f.aligned.ts[TRAIN_ROWS:] // 1000 for f in files]
    truth = [_test(f.changepoint) for f in files]
    return nab_scores(ts, truth, [_test(c) for c in cps]).scores["standard"]


def evaluate(
    files: Sequence[SkabFile], flags: Sequence[BoolArray], cps: Sequence[BoolArray]
) -> dict[str, Any]:
    """F1/FAR/MAR of ``flags`` and NAB profiles of the change points ``cps`` (and of the
    flags' edges, SKAB's notebooks' way) on the test rows of ``files``."""
    b = binary_metrics([_test(f.anomaly) for f in files], [_test(p) for p in flags])
    ts = [f.aligned.ts[TRAIN_ROWS:] // 1000 for f in files]
    truth = [_test(f.changepoint) for f in files]
    nab = nab_scores(ts, truth, [_test(c) for c in cps])
    from_edges = nab_scores(ts, truth, [edges(_test(p)) for p in flags])
    return {
        "f1": round(b.f1, 4),
        "far": round(b.far, 2),
        "mar": round(b.mar, 2),
        "nab": {k: round(v, 2) for k, v in nab.scores.items()},
        "missed_cps": nab.missed,
        "fps": nab.false_positives,
        "nab_of_flag_edges": round(from_edges.scores["standard"], 2),
    }


#: grids searched by --cv, per detector and statistic: feature windows × options, then
#: smooth × k (the change statistic has no level columns: ``level=False``)
GRIDS: dict[str, dict[str, dict[str, Any]]] = {
    "pca": {
        "outliers": {
            "window": [10],
            "long": [30, 60, 120],
            "options": [(("n_components", c),) for c in (3, 4, 6, 8)],
            "smooth": [1, 5, 10, 30],
            "k": [2.0, 3.0, 4.0, 5.0, 6.0, 8.0],
        },
        "changes": {
            "window": [10],
            "long": [30, 60],
            "options": [(("n_components", c),) for c in (2, 3, 4, 6)],
            "smooth": [1, 5, 10, 30],
            "k": [0.7, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0],
        },
    },
    "iforest": {
        "outliers": {
            "window": [1, 10],
            "long": [0, 60],
            "options": [()],
            "smooth": [1, 5, 10, 30],
            "k": [0.8, 0.9, 1.0, 1.05, 1.1, 1.2],
        },
        "changes": {
            "window": [10],
            "long": [30, 60],
            "options": [()],
            "smooth": [1, 5, 10, 30],
            "k": [0.8, 0.9, 1.0, 1.05, 1.1, 1.2],
        },
    },
}


def _candidates(
    name: str, stat: str, files: Sequence[SkabFile]
) -> Iterator[tuple[Tuning, list[BoolArray]]]:
    """Every tuning of the grid with its per-file output: outlier flags, or change points."""
    g = GRIDS[name][stat]
    level = stat == "outliers"
    for window, long, options in itertools.product(g["window"], g["long"], g["options"]):
        base = Tuning(window, long, 1, 1.0, level, options)
        raw = [ratios(f, name, base) for f in files]
        for smooth, k in itertools.product(g["smooth"], g["k"]):
            t = Tuning(window, long, smooth, k, level, options)
            out = [flags_from(r, t) for r in raw]
            yield t, out if level else [onsets(o) for o in out]


def _choose(
    cands: Sequence[tuple[Tuning, list[BoolArray]]],
    files: Sequence[SkabFile],
    rows: Sequence[int],
    metric: Callable[[Sequence[SkabFile], Sequence[BoolArray]], float],
) -> tuple[Tuning, list[BoolArray]]:
    sub = [files[i] for i in rows]
    return max(cands, key=lambda c: metric(sub, [c[1][i] for i in rows]))


def cross_validate(name: str, files: Sequence[SkabFile]) -> dict[str, Any]:
    """Leave one folder out: choose each statistic's constants on the other folders (the
    outlier one by F1, the change one by NAB standard), score the held-out folder."""
    folders = sorted({f.folder for f in files})
    outl = list(_candidates(name, "outliers", files))
    chg = list(_candidates(name, "changes", files))
    held_files: list[SkabFile] = []
    held_flags: list[BoolArray] = []
    held_cps: list[BoolArray] = []
    chosen = {}
    for out in folders:
        tr = [i for i, f in enumerate(files) if f.folder != out]
        te = [i for i, f in enumerate(files) if f.folder == out]
        best_o = _choose(outl, files, tr, f1_of)
        best_c = _choose(chg, files, tr, nab_of)
        chosen[out] = {"outliers": best_o[0].to_state(), "changes": best_c[0].to_state()}
        held_files += [files[i] for i in te]
        held_flags += [best_o[1][i] for i in te]
        held_cps += [best_c[1][i] for i in te]
    every = range(len(files))
    all_o, all_c = _choose(outl, files, every, f1_of), _choose(chg, files, every, nab_of)
    return {
        "held_out": evaluate(held_files, held_flags, held_cps),
        "chosen_per_fold": chosen,
        "chosen_on_all": {"outliers": all_o[0].to_state(), "changes": all_c[0].to_state()},
        "on_all_with_those": evaluate(files, all_o[1], all_c[1]),
    }


def run_default(
    name: str, files: Sequence[SkabFile], timed_rows: int = TIMED_ROWS
) -> tuple[dict[str, Any], list[BoolArray]]:
    """The shipped constants (``TUNING``, ``CHANGE_TUNING``) on every file, plus the cost
    of a fit per group and of the hot path per arriving row (``OnlineGroupScorer`` replaying the
    first ``timed_rows`` rows; its flags equal the batch ones, a test pins that)."""
    flags: list[BoolArray] = []
    cps: list[BoolArray] = []
    fit_s: list[float] = []
    per_row: list[float] = []
    timed = 0
    for f in files:
        t0 = time.perf_counter()
        model = fit_model(name, f.aligned, slice(0, TRAIN_ROWS))
        fit_s.append(time.perf_counter() - t0)
        scored = score_aligned(f.aligned, model)
        flags.append(scored.is_anomaly)
        cps.append(scored.change_points)
        rows = f.aligned.values[: max(0, timed_rows - timed)]
        if rows.shape[0]:
            online = OnlineGroupScorer(model)
            t0 = time.perf_counter()
            for row in rows:
                online.push(row)
            per_row.append((time.perf_counter() - t0) / rows.shape[0])
            timed += rows.shape[0]
    res = evaluate(files, flags, cps)
    res["train_s_per_group"] = round(float(np.median(fit_s)), 4)
    res["online_us_per_row"] = round(1e6 * float(np.median(per_row)), 1)
    return res, flags


def run_skab(
    data: Path, out: Path, *, cv: bool, detectors: Sequence[str], timed_rows: int = TIMED_ROWS
) -> dict[str, Any]:
    """Run every detector; print and write ``out/skab.json`` (+ a plot of one file)."""
    files = load_skab(data)
    if not files:
        raise SystemExit(f"no labelled SKAB csv under {data}")
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"files": len(files), "train_rows": TRAIN_ROWS, "detectors": {}}
    for name in detectors:
        res, _ = run_default(name, files, timed_rows)
        entry: dict[str, Any] = {
            "default": res,
            "tuning": TUNING[name].to_state(),
            "change_tuning": CHANGE_TUNING[name].to_state(),
        }
        if cv:
            entry["cv"] = cross_validate(name, files)
        report["detectors"][name] = entry
        print(f"{name}: {json.dumps(entry)}", flush=True)
    base = report["detectors"].get("iforest", {}).get("default")
    for entry in report["detectors"].values():
        if base and base["f1"]:
            entry["f1_ratio_to_iforest"] = round(entry["default"]["f1"] / base["f1"], 3)
    (out / "skab.json").write_text(json.dumps(report, indent=2))
    return report
