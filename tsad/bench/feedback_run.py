"""``tsad bench feedback``: a simulated analyst on NAB, with feedback against without.

Every file is replayed once (``feedback_data``); ``feedback_sim`` replays each file
with and without the analyst's labels. Figures count only the rows of each file
after its first label (before it the two runs are the same), and the adaptation's
constants and the ranker are chosen and trained leave-one-folder-out: each folder is
scored with constants picked on the other folders and a ranker trained on their
labelled alerts.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from tsad.bench import report
from tsad.bench.feedback_sim import SimAlert, SimResult, lift_at, precision, simulate
from tsad.bench.nab_scoring import PROFILES, FileRows, row_weights, score_fixed
from tsad.detect.threshold import DEFAULT_SENSITIVITY, threshold_log_odds
from tsad.feedback.adapt import AdaptConstants

#: the context rule's constants (``tsad.feedback.adapt.context_raise``) beside the
#: series-wide rule's. The latter's margin, miss step and bounds are fixed at the
#: values an earlier CV over them picked; the context rule raises "just enough"
#: (the issue's words), by the same margin as the series-wide rule. Ties: the first.
GRID = [
    AdaptConstants(
        margin=0.01, miss_step=0.25, max_raise=4.0, max_lower=0.2, half_life=h,
        fp_global=g, ctx_margin=0.01, ctx_tolerance=t, ctx_minutes=mi, ctx_two_sided=True,
    )
    for g, h, t, mi in itertools.product(
        (True, False),
        (150.0, math.inf),
        (0.0, 0.5, 1.0, 2.0, 4.0, 8.0),
        (30.0, 120.0, 720.0),
    )
]  # fmt: skip
#: the same with the context margin searched too (shown beside: it cuts more false
#: flags in sample, but the margin picked on the other folders loses windows)
GRID_MARGIN = [dataclasses.replace(c, ctx_margin=m) for c in GRID for m in (0.01, 0.3, 1.0, 8.0)]
BASE = threshold_log_odds(DEFAULT_SENSITIVITY)


@dataclass(frozen=True)
class Figures:
    """One run (with or without feedback) over a set of files, after their first label."""

    nab: dict[str, float]
    false_per_1000: float
    flags_per_1000: float
    windows_hit: int
    windows: int
    precision: float
    alerts: int


def _cut_rows(fs: Any, res: SimResult, cost: Any) -> FileRows:
    rows = row_weights(fs.ts.shape[0], fs.windows, cost)
    cut = res.first_label_row if res.first_label_row is not None else fs.ts.shape[0]
    return FileRows(rows.weight, rows.window, rows.scorable & (np.arange(fs.ts.shape[0]) >= cut))


def figures(files: Sequence[Any], runs: Sequence[SimResult], cuts: Sequence[SimResult]) -> Figures:
    """``runs[i]`` scored on ``files[i]`` after the first label of ``cuts[i]``."""
    nab: dict[str, float] = {}
    for name, cost in PROFILES.items():
        items = {}
        n_windows = 0
        for fs, run, cut in zip(files, runs, cuts, strict=True):
            rows = _cut_rows(fs, cut, cost)
            n_windows += len(rows.windows)
            items[fs.key] = (rows, run.flags.astype(float))
        nab[name] = score_fixed(items, cost, name, n_windows, 1.0).normalised
    false = flags = scored_rows = hit = windows = 0
    alerts: list[SimAlert] = []
    for fs, run, cut in zip(files, runs, cuts, strict=True):
        rows = _cut_rows(fs, cut, PROFILES["standard"])
        live = rows.scorable
        false += int((run.flags & live & (rows.window < 0)).sum())
        flags += int((run.flags & live).sum())
        scored_rows += int(live.sum())
        for w in rows.windows:
            windows += 1
            hit += int((run.flags & (rows.window == w)).any())
        start = cut.first_label_row if cut.first_label_row is not None else fs.ts.shape[0]
        alerts += [a for a in run.alerts if a.row >= start]
    per = 1000.0 / max(scored_rows, 1)
    return Figures(nab, false * per, flags * per, hit, windows, precision(alerts), len(alerts))


def without_false_flags(fs: Any, run: SimResult) -> SimResult:
    """``run`` with every flag outside a window after its first label dropped: what a
    perfect suppressor of false alarms would give, every window kept. The ceiling of any
    feedback that only silences alerts (it cannot flag what the detector did not)."""
    n = fs.ts.shape[0]
    in_window = np.zeros(n, bool)
    for a, b in fs.windows:
        in_window[a : b + 1] = True
    cut = run.first_label_row if run.first_label_row is not None else n
    flags = run.flags & (in_window | (np.arange(n) < cut))
    alerts = [a for a in run.alerts if a.true or a.row < cut]
    return dataclasses.replace(run, flags=flags, alerts=alerts)


def false_alerts_alike(runs: Sequence[SimResult], cuts: Sequence[SimResult]) -> tuple[int, int]:
    """(false alerts after each file's first label in ``runs``, how many of them
    resemble a false positive labelled before them): only those can the context rules
    silence without raising the threshold for everything else."""
    total = alike = 0
    for run, cut in zip(runs, cuts, strict=True):
        start = cut.first_label_row if cut.first_label_row is not None else math.inf
        for a in run.alerts:
            if a.row >= start and not a.true:
                total += 1
                alike += a.features.get("resembles_fp", 0.0) > 0
    return total, alike


def _run(fs: Any, c: AdaptConstants, feedback: bool) -> SimResult:
    return simulate(
        fs.ts, fs.score, fs.severity, fs.side, fs.windows, BASE, c,
        step_ms=fs.step_ms, feedback=feedback, value=fs.value, spread=fs.spread,
    )  # fmt: skip


def _standard(fs: Any, run: SimResult, cut: SimResult) -> tuple[float, int]:
    """(raw NAB standard score, windows hit) of one file after its first label."""
    from tsad.bench.nab_scoring import score_file

    cost = PROFILES["standard"]
    fsc = score_file(_cut_rows(fs, cut, cost), run.flags.astype(float), 1.0, cost)
    return fsc.score, fsc.tp


@dataclass(frozen=True)
class CvResult:
    picks: dict[str, AdaptConstants]
    with_fb: list[SimResult]
    without: list[SimResult]
    overall: AdaptConstants  # the same rule on every folder: the shipped defaults


def cross_validate(files: Sequence[Any], grid: Sequence[AdaptConstants] = GRID) -> CvResult:
    """Per folder, the constants that maximise the NAB standard score of the other
    folders' flags (after their first label) among those that hit as many windows
    there as tsad without feedback (the goal's "at the same windows hit"); each file
    is run with its folder's pick."""
    without = [_run(fs, AdaptConstants(), False) for fs in files]
    base = np.array([_standard(fs, w, w) for fs, w in zip(files, without, strict=True)])
    table = np.array(
        [[_standard(fs, _run(fs, c, True), w) for fs, w in zip(files, without, strict=True)]
         for c in grid]
    )  # fmt: skip
    raw, hits = table[:, :, 0], table[:, :, 1]

    def pick(train: np.ndarray) -> AdaptConstants:
        totals = raw[:, train].sum(axis=1)
        keeps = hits[:, train].sum(axis=1) >= base[train, 1].sum()
        allowed = np.where(keeps, totals, -np.inf) if keeps.any() else totals
        return grid[int(np.argmax(allowed))]

    folders = sorted({fs.folder for fs in files})
    picks = {fold: pick(np.array([fs.folder != fold for fs in files])) for fold in folders}
    with_fb = [_run(fs, picks[fs.folder], True) for fs in files]
    return CvResult(picks, with_fb, without, pick(np.ones(len(files), bool)))


def _held_out(
    files: Sequence[Any],
    runs: Sequence[SimResult],
    cuts: Sequence[SimResult],
    train_on: Sequence[str],
    test: str,
    features: Sequence[str],
) -> tuple[list[SimAlert], list[float]]:
    """The ``test`` folder's alerts after its first label, with p_true from a ranker on
    ``features`` trained on every alert of the ``train_on`` folders (0.5 while off)."""
    from tsad.feedback.ranker import TrainedRanker, train

    rows, truth = [], []
    for fs, run in zip(files, runs, strict=True):
        if fs.folder in train_on:
            rows += [a.features for a in run.alerts]
            truth += [a.true for a in run.alerts]
    model = train(rows, truth, min_labels=30, min_per_class=5, features=features)
    alerts: list[SimAlert] = []
    for fs, run, cut in zip(files, runs, cuts, strict=True):
        if fs.folder == test:
            start = cut.first_label_row if cut.first_label_row is not None else fs.ts.shape[0]
            alerts += [a for a in run.alerts if a.row >= start]
    if isinstance(model, TrainedRanker) and alerts:
        return alerts, model.p_true([a.features for a in alerts]).tolist()
    return alerts, [0.5] * len(alerts)


def _lofo(
    files: Sequence[Any],
    runs: Sequence[SimResult],
    cuts: Sequence[SimResult],
    folders: Sequence[str],
    features: Sequence[str],
) -> tuple[list[SimAlert], list[float]]:
    """Every folder of ``folders`` scored by a ranker trained on the others."""
    alerts: list[SimAlert] = []
    p: list[float] = []
    for fold in folders:
        a, q = _held_out(files, runs, cuts, [f for f in folders if f != fold], fold, features)
        alerts += a
        p += q
    return alerts, p


def _lift(alerts: Sequence[SimAlert], p: Sequence[float]) -> float:
    # a tree model gives many alerts the same p_true: the score orders those
    return lift_at(alerts, p, then=[a.score for a in alerts])


def pick_features(
    files: Sequence[Any], runs: Sequence[SimResult], cuts: Sequence[SimResult],
    folders: Sequence[str],
) -> str:  # fmt: skip
    """The feature set with the best lift@20% by leave-one-folder-out within
    ``folders`` (ties: the one listed first, the smaller)."""
    from tsad.feedback.features import FEATURE_SETS

    best, best_lift = next(iter(FEATURE_SETS)), -math.inf
    for name, names in FEATURE_SETS.items():
        lift = _lift(*_lofo(files, runs, cuts, folders, names))
        if lift > best_lift + 1e-9:
            best, best_lift = name, lift
    return best


@dataclass(frozen=True)
class Ranked:
    """The alerts after the first label, each with a held-out p_true, and the lifts."""

    alerts: list[SimAlert]
    p_true: list[float]
    lift_p: float
    lift_score: float
    feature_sets: dict[str, str]


def ranker_lift(
    files: Sequence[Any], runs: Sequence[SimResult], cuts: Sequence[SimResult]
) -> Ranked:
    """Lift@20% of the alerts after the first label ranked by p_true and ranked by
    score. Each folder's ranker is trained on the other folders' labelled alerts, on
    the feature set that ranks best by leave-one-folder-out within those others
    (nested: the held-out folder chooses nothing)."""
    from tsad.feedback.features import FEATURE_SETS

    folders = sorted({fs.folder for fs in files})
    ranked: list[SimAlert] = []
    p_all: list[float] = []
    chosen: dict[str, str] = {}
    for fold in folders:
        others = [f for f in folders if f != fold]
        chosen[fold] = pick_features(files, runs, cuts, others)
        a, p = _held_out(files, runs, cuts, others, fold, FEATURE_SETS[chosen[fold]])
        ranked += a
        p_all += p
    scores = [a.score for a in ranked]
    return Ranked(ranked, p_all, _lift(ranked, p_all), lift_at(ranked, scores), chosen)


#: ``TSAD_FEEDBACK_SUPPRESS_BELOW`` settings the report shows
SUPPRESS = (0.1, 0.2, 0.3)


def suppression(r: Ranked) -> list[list[object]]:
    """Per setting: alerts sent, real alerts sent of all real, precision of those sent."""
    real = sum(a.true for a in r.alerts)
    out: list[list[object]] = [["0 (off)", len(r.alerts), f"{real}/{real}", _p(r.alerts)]]
    for cut in SUPPRESS:
        sent = [a for a, p in zip(r.alerts, r.p_true, strict=True) if p >= cut]
        out.append([cut, len(sent), f"{sum(a.true for a in sent)}/{real}", _p(sent)])
    return out


def _p(alerts: Sequence[SimAlert]) -> object:
    v = precision(alerts)
    return "–" if math.isnan(v) else round(v, 3)


def _row(label: str, f: Figures) -> list[object]:
    return [
        label,
        *(round(f.nab[p], 2) for p in PROFILES),
        round(f.false_per_1000, 3),
        round(f.flags_per_1000, 3),
        f"{f.windows_hit}/{f.windows}",
        round(f.precision, 3) if not math.isnan(f.precision) else "–",
        f.alerts,
    ]


HEADER = ["run", *PROFILES, "false flags/1k", "flags/1k", "windows hit", "precision", "alerts"]


def run_feedback_bench(
    data: Path, out: Path, *, model: str = "auto", cache: Path | None = None
) -> dict[str, Any]:
    """Replay, simulate, cross-validate, rank; print and write ``report.md`` + PNG."""
    from tsad.bench.feedback_data import cached_bands, file_scores
    from tsad.bench.nab import load_corpus

    console = Console()
    corpus = load_corpus(data)
    cache = cache or out / "bands"
    files = []
    for f in corpus.files:
        console.print(f"replaying {f.key}")
        files.append(file_scores(f, cached_bands(f, model, cache)))
    cv = cross_validate(files)
    fb = figures(files, cv.with_fb, cv.without)
    base = figures(files, cv.without, cv.without)
    in_sample = [_run(fs, cv.overall, True) for fs in files]
    ins = figures(files, in_sample, cv.without)
    ceiling = figures(
        files, [without_false_flags(fs, r) for fs, r in zip(files, cv.without, strict=True)],
        cv.without,
    )  # fmt: skip
    wide = cross_validate(files, GRID_MARGIN)
    wide_fb = figures(files, wide.with_fb, wide.without)
    wide_ins = figures(files, [_run(fs, wide.overall, True) for fs in files], wide.without)
    r_fb = ranker_lift(files, cv.with_fb, cv.without)
    r_0 = ranker_lift(files, cv.without, cv.without)
    from tsad.feedback.features import FEATURE_SETS

    every = sorted({fs.folder for fs in files})
    shipped = pick_features(files, cv.with_fb, cv.without, every)
    rows = [
        _row("without feedback", base),
        _row("with feedback (held-out constants)", fb),
        _row("with feedback (constants picked on all: in-sample)", ins),
        _row("context margin searched too (held-out)", wide_fb),
        _row("context margin searched too (in-sample)", wide_ins),
        _row("ceiling: every false flag after the first label dropped (oracle)", ceiling),
    ]
    lifts = [
        [name, len(r.alerts), round(r.lift_p, 2), round(r.lift_score, 2)]
        for name, r in (("alerts with feedback", r_fb), ("alerts without feedback", r_0))
    ]
    lift_header = ["ranked", "alerts", "lift@20% by p_true", "lift@20% by score"]
    held = suppression(r_fb)
    held_header = ["suppress below p_true", "alerts sent", "real alerts sent", "precision"]
    report.print_tables(
        console,
        [
            report.table("NAB after the first label: flags with vs without feedback", HEADER, rows),
            report.table("ranking the alerts (ranker held out by folder)", lift_header, lifts),
            report.table(
                "suppressing alerts by held-out p_true (with feedback)", held_header, held
            ),
        ],
    )
    picks = {k: vars(v) for k, v in cv.picks.items()}
    total, alike = false_alerts_alike(in_sample, cv.without)
    alike_line = (
        f"False alerts left after the first labels (shipped defaults): {total}, of which "
        f"{alike} resemble a false positive labelled before them"
    )
    console.print(alike_line)
    console.print(f"constants picked per held-out folder: {picks}")
    console.print(f"constants picked on every folder (the defaults): {vars(cv.overall)}")
    console.print(f"with the context margin searched: per folder {_margins(wide)}")
    console.print(f"ranker feature set per held-out folder: {r_fb.feature_sets}")
    console.print(f"ranker feature set picked on every folder: {shipped} {FEATURE_SETS[shipped]}")
    out.mkdir(parents=True, exist_ok=True)
    md = [
        "# tsad bench feedback",
        "",
        report.markdown_table(HEADER, rows),
        "",
        report.markdown_table(lift_header, lifts),
        "",
        report.markdown_table(held_header, held),
        "",
        alike_line,
        "",
        f"Constants per held-out folder: `{picks}`",
        "",
        f"Constants picked on every folder (the defaults): `{vars(cv.overall)}`",
        "",
        f"Context margin searched too, picked per held-out folder: `{_margins(wide)}`, "
        f"on every folder: `{wide.overall.ctx_margin}`",
        "",
        f"Ranker feature set per held-out folder: `{r_fb.feature_sets}`; "
        f"picked on every folder: `{shipped}`",
        "",
    ]
    (out / "report.md").write_text("\n".join(md))
    _plot(out / "feedback.png", files, cv)
    payload = {
        "with": vars(fb),
        "without": vars(base),
        "in_sample": vars(ins),
        "ceiling": vars(ceiling),
        "false_alerts_left": {"total": total, "resembling_a_labelled_fp": alike},
        "lift": lifts,
        "suppression": held,
        "feature_sets": {"held_out": r_fb.feature_sets, "all": shipped},
        "picks": picks,
        "defaults": vars(cv.overall),
    }
    report.write_json(out / "scores.json", payload)
    return payload


def _margins(cv: CvResult) -> dict[str, float]:
    return {fold: c.ctx_margin for fold, c in cv.picks.items()}


def _plot(path: Path, files: Sequence[Any], cv: CvResult) -> None:
    from matplotlib.figure import Figure

    folders = sorted({fs.folder for fs in files})
    per: dict[str, list[float]] = {"without": [], "with": []}
    for fold in folders:
        idx = [i for i, fs in enumerate(files) if fs.folder == fold]
        sub = [files[i] for i in idx]
        cuts = [cv.without[i] for i in idx]
        per["without"].append(figures(sub, cuts, cuts).false_per_1000)
        per["with"].append(figures(sub, [cv.with_fb[i] for i in idx], cuts).false_per_1000)
    fig = Figure(figsize=(8, 3.5), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(folders))
    ax.bar(x - 0.2, per["without"], 0.4, label="without feedback")
    ax.bar(x + 0.2, per["with"], 0.4, label="with feedback (held-out constants)")
    ax.set_xticks(x, folders, fontsize=8)
    ax.set_ylabel("false flags per 1,000 points")
    ax.set_title("NAB after each file's first label: a simulated analyst")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
