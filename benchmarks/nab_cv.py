"""Leave-one-folder-out cross-validation of the detector's constants on NAB.

nice python3 benchmarks/nab_cv.py [--data DIR] [--model auto] [--cache bench-out/nab-cv]
    [--refresh FRACTION] [--fit-window N] [--warmup-seasons K]
nice python3 benchmarks/nab_cv.py --compare DIR [DIR ...] [--warmups 2,3]

1. Replays the service's online path over every file once (``replay_bands``: the
   bands the hot path would have held, refitted at its cadence) and caches them per
   file. ``--refresh F`` replays as if the hot path refitted once ``F`` of a band was
   used instead of the shipped ``REFRESH_FRACTION`` (0.5): another set of refit
   positions, to tell a real gain from the luck of where the refits fell (the figures
   move by up to ±3 points between fractions). ``--fit-window N`` refits on the newest
   N points instead of the service's ``TSAD_FIT_WINDOW`` default. A cache belongs to one
   code, fraction and window. ``--warmup-seasons K`` scores as if a series were trusted
   after K seasons instead of the shipped two (the cap grows with it), on the same bands.
2. For each candidate scorer setting, scores every file (``flag_stream``).
3. For each folder: picks the default sensitivity that maximises the NAB standard
   score of the *flags* on the other folders, and scores the held-out folder with
   it. Prints in-sample and held-out figures: the held-out ones are what counts.
4. ``--compare``: band caches made by earlier runs (other code, window or fraction),
   each scored at each warm-up of ``--warmups``; prints every variant's flags per
   folder and chooses (bands, warm-up, sensitivity) jointly by leave-one-folder-out.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

import tsad.detect.online as online
import tsad.detect.residual_score as rs
from tsad.bench import feedback_data
from tsad.bench.nab import NabFile, load_corpus
from tsad.bench.nab_scoring import (
    PROFILES,
    probation_length,
    row_weights,
    score_fixed,
    sweep_thresholds,
)
from tsad.detect.flags import flag_stream
from tsad.detect.threshold import threshold_for

SENSITIVITIES = np.r_[np.arange(70.0, 96.0, 2.5), 96.0, 97.0, 98.0, 99.0]
LEVEL = 99.0
# the replay and its per-file cache are shared with `tsad bench feedback`
cached_bands = feedback_data.cached_bands


def run_file(f: NabFile, b: dict[str, np.ndarray], sens: float) -> tuple[np.ndarray, np.ndarray]:
    keep = b["keep"]
    fl = flag_stream(
        f.ts[keep],
        f.value[keep],
        b["mean"],
        b["lo"],
        b["hi"],
        LEVEL,
        b["ref"],
        season=int(b["season"]),
        sensitivity=sens,
    )
    score = np.zeros(f.ts.shape[0])
    score[keep] = fl.scored.score
    return score, score


def joint_lofo(corpus, table, describe=str) -> float:
    """Constants and sensitivity chosen together on three folders, scored on the fourth.

    ``table`` maps each setting to its ``evaluate`` result; for every folder the
    (setting, sensitivity) whose flags score best on the other folders is scored on it,
    and the held-out folders' raw totals are normalised like the corpus'."""
    held = 0.0
    for fold in sorted({f.folder for f in corpus.files}):
        train = [f.key for f in corpus.files if f.folder != fold]
        test = [f.key for f in corpus.files if f.folder == fold]
        best = max(
            ((v, sv) for v, r in table.items() for sv in r["per_file"]),
            key=lambda p: sum(table[p[0]]["per_file"][p[1]][k] for k in train),
        )
        held += sum(table[best[0]]["per_file"][best[1]][k] for k in test)
        print(f"  {fold}: picked {describe(best[0])}, sensitivity {best[1]:g}", flush=True)
    return next(iter(table.values()))["norm"](held)


def evaluate(corpus, bands, profile="standard"):
    cost = PROFILES[profile]
    scores = {}
    for f in corpus.files:
        scores[f.key], _ = run_file(f, bands[f.key], 80.0)
    rows = {f.key: row_weights(f.ts.shape[0], f.windows, cost) for f in corpus.files}
    folders = sorted({f.folder for f in corpus.files})
    n_windows = corpus.n_windows
    # ranking (best threshold afterwards) over the corpus
    items = [(rows[k], scores[k]) for k in scores]
    thr, raw = sweep_thresholds(items, cost).best()
    null_items = [(r, np.full(a.shape[0], 0.5)) for r, a in items]
    _, null = sweep_thresholds(null_items, cost).best()
    perfect = n_windows * cost.tp

    def norm(x: float) -> float:
        return 100 * (x - null) / (perfect - null)

    # flags at each sensitivity, per file raw score (threshold on the same scores)
    per_sens = {}
    for s in SENSITIVITIES:
        t = threshold_for(float(s))
        res = score_fixed({k: (rows[k], scores[k]) for k in scores}, cost, profile, n_windows, t)
        per_sens[float(s)] = {k: fs.score for k, fs in res.per_file.items()}
    in_sample = max(per_sens, key=lambda s: sum(per_sens[s].values()))
    t_in = threshold_for(in_sample)
    after = sum(
        int((scores[f.key][probation_length(f.ts.shape[0]) :] >= t_in).sum()) for f in corpus.files
    )
    rows_after = sum(f.ts.shape[0] - probation_length(f.ts.shape[0]) for f in corpus.files)
    quiet = [f for f in corpus.files if not f.windows]
    q_flags = sum(int((scores[f.key] >= t_in).sum()) for f in quiet)
    q_rows = sum(f.ts.shape[0] for f in quiet)
    held_raw = 0.0
    picks = {}
    for fold in folders:
        train = [f.key for f in corpus.files if f.folder != fold]
        test = [f.key for f in corpus.files if f.folder == fold]
        best = max(per_sens, key=lambda s: (sum(per_sens[s][k] for k in train), s))
        picks[fold] = best
        held_raw += sum(per_sens[best][k] for k in test)
    return {
        "rank": norm(raw),
        "rank_thr": thr,
        "flags_in_sample": norm(sum(per_sens[in_sample].values())),
        "in_sample_sens": in_sample,
        "flags_held_out": norm(held_raw),
        "per1000": 1000 * after / rows_after,
        "per1000_quiet": 1000 * q_flags / max(q_rows, 1),
        "picks": picks,
        "flags_at": {s: norm(sum(v.values())) for s, v in per_sens.items()},
        "per_file": per_sens,
        "norm": norm,
    }


def print_profiles(corpus, bands) -> None:
    """Score (ranking) and flags at the default sensitivity under NAB's three profiles."""
    from tsad.bench.nab_scoring import score_corpus
    from tsad.detect.threshold import DEFAULT_SENSITIVITY

    scores = {f.key: run_file(f, bands[f.key], DEFAULT_SENSITIVITY)[0] for f in corpus.files}
    t = threshold_for(DEFAULT_SENSITIVITY)
    for name, cost in PROFILES.items():
        files = {
            f.key: (row_weights(f.ts.shape[0], f.windows, cost), scores[f.key])
            for f in corpus.files
        }
        rank = score_corpus(files, cost, name, corpus.n_windows).normalised
        flags = score_fixed(files, cost, name, corpus.n_windows, t)
        hit = sum(fs.tp for fs in flags.per_file.values())
        print(
            f"{name}: score {rank:.2f} · flags {flags.normalised:.2f} "
            f"(windows hit {hit}/{corpus.n_windows})"
        )


def set_warmup(seasons: int) -> None:
    """Score as if a series were trusted after ``seasons`` seasons (the cap scales)."""
    rs.MAX_WARMUP = rs.MAX_WARMUP * seasons // rs.WARMUP_SEASONS
    rs.WARMUP_SEASONS = seasons


def compare(corpus, caches: list[Path], warmups: list[int], model: str) -> None:
    """Every (cache, warm-up) variant's flags per folder, then the joint LOFO pick."""
    table = {}
    shipped = rs.WARMUP_SEASONS
    for cache in caches:
        bands = {f.key: cached_bands(f, model, cache) for f in corpus.files}
        for k in warmups:
            set_warmup(k)
            r = evaluate(corpus, bands)
            set_warmup(shipped)
            table[(str(cache), k)] = r
            sens = r["in_sample_sens"]
            folders: dict[str, float] = {}
            for f in corpus.files:
                folders[f.folder] = folders.get(f.folder, 0.0) + r["per_file"][sens][f.key]
            print(
                f"{cache} warm-up {k}: score {r['rank']:.2f} flags {r['flags_in_sample']:.2f}"
                f" @{sens:g}; raw per folder",
                {name: round(v, 2) for name, v in sorted(folders.items())},
                flush=True,
            )
    held = joint_lofo(corpus, table, lambda v: f"{v[0]} warm-up {v[1]}")
    print(f"joint LOFO held-out flags (standard): {held:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/nab"))
    ap.add_argument("--model", default="auto")
    ap.add_argument("--cache", type=Path, default=Path("bench-out/nab-cv"))
    ap.add_argument("--grid", action="store_true", help="also search scorer constants")
    ap.add_argument(
        "--refresh", type=float, default=None, help="refit once this share of a band is used"
    )
    ap.add_argument("--fit-window", type=int, default=None, help="points each refit sees")
    ap.add_argument("--warmup-seasons", type=int, default=None, help="seasons scored before a flag")
    ap.add_argument("--compare", type=Path, nargs="+", help="band caches to choose among")
    ap.add_argument("--warmups", default="2,3", help="warm-ups (seasons) --compare tries")
    a = ap.parse_args()
    if a.refresh is not None:
        online.REFRESH_FRACTION = a.refresh
    corpus = load_corpus(a.data)
    if a.compare:
        compare(corpus, a.compare, [int(k) for k in a.warmups.split(",")], a.model)
        return
    if a.warmup_seasons is not None:
        set_warmup(a.warmup_seasons)
    bands = {f.key: cached_bands(f, a.model, a.cache, a.fit_window) for f in corpus.files}
    base = evaluate(corpus, bands)
    print(
        "default constants:",
        {k: v for k, v in base.items() if k not in ("flags_at", "per_file", "norm")},
    )
    print("flags by sensitivity:", {s: round(v, 1) for s, v in base["flags_at"].items()})
    print_profiles(corpus, bands)
    if not a.grid:
        return
    grid = {
        "HALF_LIFE": [300.0, 400.0],
        "RANGE_BONUS": [3.0, 3.5, 4.0],
        "INCIDENT_LEARN": [1.0, 50.0],
    }
    table = {}
    for values in itertools.product(*grid.values()):
        for name, v in zip(grid, values, strict=True):
            setattr(rs, name, v)
        r = evaluate(corpus, bands)
        table[values] = r
        print(
            dict(zip(grid, values, strict=True)),
            f"rank {r['rank']:.2f} flags in {r['flags_in_sample']:.2f} "
            f"@{r['in_sample_sens']} /1000 {r['per1000']:.2f} quiet {r['per1000_quiet']:.2f} "
            f"held-out(sens only) {r['flags_held_out']:.2f} picks {r['picks']}",
            flush=True,
        )
    held = joint_lofo(corpus, table, lambda v: dict(zip(grid, v, strict=True)))
    print(f"joint LOFO held-out flags (standard): {held:.2f}")


if __name__ == "__main__":
    main()
