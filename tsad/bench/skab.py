"""``tsad bench skab``: the multivariate detectors on SKAB, by SKAB's protocol.

Per file (one experiment): fit on its first ``TRAIN_ROWS`` rows (the normal
start of every run, as SKAB's notebooks do), score every row causally, evaluate
the rows after the training part (SKAB's proposed leaderboard scores the test
part only). Outliers: pooled F1 / FAR / MAR of the flags at default sensitivity;
change points: NAB (60 s windows to the right) on the edges of the same flags
(``tsad.bench.skab_scoring``). ``--cv`` chooses each detector's constants by
leave-one-folder-out cross-validation (``objective``) and reports the held-out figures.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tsad.bench.skab_scoring import binary_metrics, edges, nab_scores
from tsad.multivariate.align import Aligned
from tsad.multivariate.detector import make_detector
from tsad.multivariate.features import trailing_mean, trailing_mean_1d
from tsad.multivariate.online import OnlineGroupScorer
from tsad.multivariate.scoring import TUNING, Tuning, fit_detector, score_aligned, to_score
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


def ratios(f: SkabFile, name: str, window: int, **kw: Any) -> FloatArray:
    """The detector's raw (unsmoothed) ratio on every row, fitted on the training rows."""
    feats = trailing_mean(f.aligned.values, window)
    det = make_detector(name, **kw)
    det.fit(feats[:TRAIN_ROWS])
    return det.ratio(feats)


def flags_from(ratio: FloatArray, tuning: Tuning) -> BoolArray:
    from tsad.detect.threshold import DEFAULT_SENSITIVITY, threshold_for

    score = to_score(trailing_mean_1d(ratio, tuning.smooth), tuning.k)
    return score >= threshold_for(DEFAULT_SENSITIVITY)


def evaluate(files: Sequence[SkabFile], flags: Sequence[BoolArray]) -> dict[str, Any]:
    """F1/FAR/MAR and NAB profiles on the test rows of ``files``."""
    te = slice(TRAIN_ROWS, None)
    b = binary_metrics([f.anomaly[te] for f in files], [p[te] for p in flags])
    nab = nab_scores(
        [f.aligned.ts[te] // 1000 for f in files],
        [f.changepoint[te] for f in files],
        [edges(p[te]) for p in flags],
    )
    return {
        "f1": round(b.f1, 4),
        "far": round(b.far, 2),
        "mar": round(b.mar, 2),
        "nab": {k: round(v, 2) for k, v in nab.scores.items()},
        "missed_cps": nab.missed,
        "fps": nab.false_positives,
    }


# grids searched by --cv (per detector): feature windows × extra args, then smooth × k
GRIDS: dict[str, dict[str, Any]] = {
    "pca": {
        "window": [1, 5, 10, 20, 30],
        "kw": [{"n_components": c} for c in (2, 3, 4, 5, 6)],
        "smooth": [1, 3, 5, 10, 30, 60],
        "k": [2.0, 3.0, 4.0, 5.0, 6.0, 8.0],
    },
    "iforest": {
        "window": [1, 10],
        "kw": [{}],
        "smooth": [1, 5, 10, 30],
        "k": [0.8, 0.9, 1.0, 1.05, 1.1, 1.2],
    },
}


def _candidates(
    name: str, files: Sequence[SkabFile]
) -> Iterator[tuple[dict[str, Any], list[BoolArray]]]:
    g = GRIDS[name]
    for window, kw in itertools.product(g["window"], g["kw"]):
        raw = [ratios(f, name, window, **kw) for f in files]
        for smooth, k in itertools.product(g["smooth"], g["k"]):
            t = Tuning(window, smooth, k)
            yield {"tuning": t, "kw": kw}, [flags_from(r, t) for r in raw]


def objective(res: dict[str, Any]) -> float:
    """What CV maximises: outlier F1 plus change-point NAB (standard) / 100, so one set
    of constants serves both of SKAB's problems (both come from the same flags)."""
    return float(res["f1"]) + float(res["nab"]["standard"]) / 100.0


def cross_validate(name: str, files: Sequence[SkabFile]) -> dict[str, Any]:
    """Leave one folder out: choose on the others by ``objective``, score the held-out one."""
    folders = sorted({f.folder for f in files})
    cands = list(_candidates(name, files))
    held_flags: list[BoolArray] = []
    held_files: list[SkabFile] = []
    chosen = {}
    for out in folders:
        tr = [i for i, f in enumerate(files) if f.folder != out]
        te = [i for i, f in enumerate(files) if f.folder == out]
        best = max(
            cands,
            key=lambda c: objective(evaluate([files[i] for i in tr], [c[1][i] for i in tr])),
        )
        chosen[out] = {"tuning": best[0]["tuning"].__dict__, **best[0]["kw"]}
        held_files += [files[i] for i in te]
        held_flags += [best[1][i] for i in te]
    overall = max(cands, key=lambda c: objective(evaluate(files, c[1])))
    return {
        "held_out": evaluate(held_files, held_flags),
        "chosen_per_fold": chosen,
        "chosen_on_all": {"tuning": overall[0]["tuning"].__dict__, **overall[0]["kw"]},
    }


def run_default(
    name: str, files: Sequence[SkabFile], timed_rows: int = TIMED_ROWS
) -> tuple[dict[str, Any], list[BoolArray]]:
    """The shipped constants (``TUNING``) on every file, plus the cost of a fit per
    group and of the hot path per arriving row (``OnlineGroupScorer`` replaying the
    first ``timed_rows`` rows; its flags equal the batch ones, a test pins that)."""
    flags: list[BoolArray] = []
    fit_s: list[float] = []
    per_row: list[float] = []
    timed = 0
    for f in files:
        t0 = time.perf_counter()
        det = fit_detector(name, f.aligned, slice(0, TRAIN_ROWS))
        fit_s.append(time.perf_counter() - t0)
        flags.append(score_aligned(f.aligned, det).is_anomaly)
        rows = f.aligned.values[: max(0, timed_rows - timed)]
        if rows.shape[0]:
            online = OnlineGroupScorer(det, len(f.aligned.variables))
            t0 = time.perf_counter()
            for row in rows:
                online.push(row)
            per_row.append((time.perf_counter() - t0) / rows.shape[0])
            timed += rows.shape[0]
    res = evaluate(files, flags)
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
        entry: dict[str, Any] = {"default": res, "tuning": TUNING[name].__dict__}
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
