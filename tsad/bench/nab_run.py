"""``tsad bench nab``: run a detector over a NAB tree, write NAB's results layout,
score it with ``nab_scoring`` and report (tables, ``scores.json``, ``report.md``, PNGs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from tsad.bench import report
from tsad.bench.detector import Detector
from tsad.bench.nab import NabCorpus, load_corpus, write_results
from tsad.bench.nab_scoring import (
    PROFILES,
    CostMatrix,
    ProfileResult,
    load_profiles,
    probation_length,
    row_weights,
    score_corpus,
    score_fixed,
)
from tsad.series import BoolArray, FloatArray


@dataclass(frozen=True)
class NabRun:
    """Everything one bench run produced."""

    detector: str
    results: dict[str, ProfileResult]  # the score as a ranking (best threshold afterwards)
    flag_results: dict[str, ProfileResult]  # the flags at default settings, as a binary detector
    scores: dict[str, FloatArray]
    flags: dict[str, BoolArray]
    seconds: float

    def flag_rate(self, corpus: NabCorpus) -> tuple[float, float]:
        """(flags per 1,000 points after probation, the same on files with no window
        counting every row, warm-up included)."""
        after = total = quiet_flags = quiet_rows = 0
        for f in corpus.files:
            fl = self.flags[f.key]
            p = probation_length(fl.shape[0])
            after += int(fl[p:].sum())
            total += fl.shape[0] - p
            if not f.windows:
                quiet_flags += int(fl.sum())
                quiet_rows += fl.shape[0]
        return 1000.0 * after / max(total, 1), 1000.0 * quiet_flags / max(quiet_rows, 1)


def run_nab(
    data: Path,
    detector: Detector,
    out: Path,
    *,
    console: Console | None = None,
    plots: bool = True,
    on_file: Callable[[str], None] | None = None,
) -> NabRun:
    """Detect, write, score and report over the NAB tree at ``data``."""
    console = console or Console()
    corpus = load_corpus(data)
    profiles = _profiles(data)
    scores: dict[str, FloatArray] = {}
    flags: dict[str, BoolArray] = {}
    start = time.perf_counter()
    with Progress(console=console, transient=False) as bar:
        task = bar.add_task(f"NAB · {detector.name}", total=len(corpus.files))
        for f in corpus.files:
            bar.update(task, description=f"NAB · {detector.name} · {f.name}")
            found = detector.detect(f.ts, f.value)
            scores[f.key], flags[f.key] = found.score, found.flags
            write_results(out, detector.name, f, scores[f.key])
            if on_file is not None:
                on_file(f.key)
            bar.advance(task)
    seconds = time.perf_counter() - start
    results = {
        name: score_corpus(
            {
                f.key: (row_weights(f.ts.shape[0], f.windows, cost), scores[f.key])
                for f in corpus.files
            },
            cost,
            name,
            corpus.n_windows,
        )
        for name, cost in profiles.items()
    }
    flag_results = {
        name: score_fixed(
            {
                f.key: (row_weights(f.ts.shape[0], f.windows, cost), flags[f.key].astype(float))
                for f in corpus.files
            },
            cost,
            name,
            corpus.n_windows,
            1.0,
        )
        for name, cost in profiles.items()
    }
    run = NabRun(detector.name, results, flag_results, scores, flags, seconds)
    _report(run, corpus, profiles, out, console, plots)
    return run


def _profiles(data: Path) -> dict[str, CostMatrix]:
    path = data / "config" / "profiles.json"
    return load_profiles(path) if path.is_file() else dict(PROFILES)


def _report(
    run: NabRun,
    corpus: NabCorpus,
    profiles: dict[str, CostMatrix],
    out: Path,
    console: Console,
    plots: bool,
) -> None:
    det = run.detector
    thresholds = corpus.root / "config" / "thresholds.json"
    board = report.published_scoreboard(thresholds, profiles) if thresholds.is_file() else {}
    names = list(profiles)
    header = ["detector", *names]
    own = [f"{det} score (this run, {len(corpus.files)} files)"]
    flags_row = [f"{det} flags at default sensitivity (binary)"]
    rows: list[list[object]] = [
        [*own, *(run.results[p].normalised for p in names)],
        [*flags_row, *(run.flag_results[p].normalised for p in names)],
    ]
    ranked = sorted(board.items(), key=lambda kv: -kv[1].get("standard", -1e9))
    rows += [
        [f"{d} (published, 58 files)", *(v.get(p, float("nan")) for p in names)] for d, v in ranked
    ]
    std = run.results.get("standard") or next(iter(run.results.values()))
    file_header = ["file", "rows", "windows", "tp", "fn", "fp", "score"]
    file_rows: list[list[object]] = [
        [k, int(run.scores[k].shape[0]), fs.tp + fs.fn, fs.tp, fs.fn, fs.fp, fs.score]
        for k, fs in std.per_file.items()
    ]
    report.print_tables(
        console,
        [
            report.table(f"NAB scores (normalised) · {det}", header, rows),
            report.table(
                f"per file · {std.profile} · threshold {std.threshold:.6g}", file_header, file_rows
            ),
        ],
    )
    console.print(report.PUBLISHED_NOTE)
    rate, quiet = run.flag_rate(corpus)
    rates = (
        f"flags per 1,000 points after probation: {rate:.2f}; "
        f"on files with no anomaly window, warm-up included: {quiet:.2f}"
    )
    console.print(rates)
    console.print(f"{len(corpus.files)} files in {run.seconds:.1f} s")
    payload: dict[str, Any] = {
        "detector": det,
        "data": str(corpus.root),
        "files": len(corpus.files),
        "windows": corpus.n_windows,
        "seconds": run.seconds,
        "flags_per_1000_after_probation": rate,
        "flags_per_1000_no_window_files": quiet,
        "flags": {p: r.normalised for p, r in run.flag_results.items()},
        "profiles": {
            p: {
                "threshold": r.threshold,
                "raw": r.raw,
                "null": r.null,
                "perfect": r.perfect,
                "normalised": r.normalised,
                "per_file": {
                    k: {"score": fs.score, "tp": fs.tp, "fn": fs.fn, "fp": fs.fp}
                    for k, fs in r.per_file.items()
                },
            }
            for p, r in run.results.items()
        },
        "published_full_corpus": board,
    }
    report.write_json(out / "scores.json", payload)
    md = [
        f"# NAB · {det}",
        "",
        f"{len(corpus.files)} files, {corpus.n_windows} windows, {run.seconds:.1f} s.",
        "",
        report.markdown_table(header, rows),
        "",
        rates + ".",
        "",
        report.PUBLISHED_NOTE,
        "",
        f"## Per file ({std.profile}, threshold {std.threshold!r})",
        "",
        report.markdown_table(file_header, file_rows),
        "",
    ]
    (out / "report.md").write_text("\n".join(md))
    if plots:
        for f in corpus.files:
            png = out / det / f.folder / f"{det}_{f.name.removesuffix('.csv')}.png"
            fs = std.per_file[f.key]
            report.plot_file(
                png,
                f,
                run.scores[f.key],
                fs.detections,
                std.threshold,
                probation_length(f.ts.shape[0]),
            )
