"""Peers on NAB in the same run, with the same scorer as tsad's own detector.

nice python3 benchmarks/nab_peers.py [--data DIR] [--skip-tsad] [--jobs 3]
    [--azure-window 2016] [--azure-stride 1008]

Runs every detector over the NAB tree (one process per detector, ``--jobs`` at a
time) and prints, per detector: NAB standard / reward_low_FP_rate /
reward_low_FN_rate of its score as a ranking (``score_corpus``: best threshold
afterwards) and of its own default flags as a binary detector (``score_fixed`` at
1.0 on flags as 1.0/0.0), flags per 1,000 points after NAB's probation, and wall
time. Needs the ``bench`` extra (see benchmarks/nab_peers.md).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from tsad.bench.detector import Detector, OnlineDetector
from tsad.bench.nab import load_corpus
from tsad.bench.nab_scoring import (
    PROFILES,
    probation_length,
    row_weights,
    score_corpus,
    score_fixed,
)
from tsad.bench.peers import AzureUnivariate, PyodIForest
from tsad.models.registry import ModelRegistry

Arrays = dict[str, np.ndarray]


def make(name: str, a: argparse.Namespace) -> Detector:
    if name == "pyod":
        return PyodIForest()
    if name == "azure":
        return AzureUnivariate(window=a.azure_window, stride=a.azure_stride)
    return OnlineDetector(ModelRegistry().get("auto"), "tsad (auto, online)")


def run(name: str, a: argparse.Namespace) -> tuple[str, Arrays, Arrays, float]:
    corpus = load_corpus(a.data)
    det = make(name, a)
    scores: Arrays = {}
    flags: Arrays = {}
    start = time.perf_counter()
    for f in corpus.files:
        found = det.detect(f.ts, f.value)
        scores[f.key], flags[f.key] = found.score, found.flags
    return det.name, scores, flags, time.perf_counter() - start


def figures(data: Path, scores: Arrays, flags: Arrays) -> dict[str, float]:
    corpus = load_corpus(data)
    out: dict[str, float] = {}
    for profile, cost in PROFILES.items():
        rows = {f.key: row_weights(f.ts.shape[0], f.windows, cost) for f in corpus.files}
        ranked = score_corpus(
            {k: (rows[k], scores[k]) for k in rows}, cost, profile, corpus.n_windows
        )
        fixed = score_fixed(
            {k: (rows[k], flags[k].astype(float)) for k in rows},
            cost,
            profile,
            corpus.n_windows,
            1.0,
        )
        out[f"score {profile}"] = ranked.normalised
        out[f"flags {profile}"] = fixed.normalised
    after = total = 0
    for f in corpus.files:
        p = probation_length(f.ts.shape[0])
        after += int(flags[f.key][p:].sum())
        total += f.ts.shape[0] - p
    out["flags/1000"] = 1000.0 * after / max(total, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/nab"))
    ap.add_argument("--skip-tsad", action="store_true")
    ap.add_argument("--only", nargs="*", choices=["tsad", "pyod", "azure"])
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--azure-window", type=int, default=2016)
    ap.add_argument("--azure-stride", type=int, default=1008)
    a = ap.parse_args()
    names = a.only or ["tsad", "pyod", "azure"]
    if a.skip_tsad:
        names = [n for n in names if n != "tsad"]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=a.jobs) as pool:
        futures = [pool.submit(run, n, a) for n in names]
        done = [fut.result() for fut in futures]
    wall = time.perf_counter() - start
    cols = [f"{k} {p}" for k in ("score", "flags") for p in PROFILES]
    print("| detector | " + " | ".join(cols) + " | flags/1000 after probation | seconds |")
    print("|---" * (len(cols) + 3) + "|")
    table = {}
    for name, scores, flags, seconds in done:
        fig = figures(a.data, scores, flags)
        table[name] = fig
        cells = " | ".join(f"{fig[c]:.1f}" for c in cols)
        print(f"| {name} | {cells} | {fig['flags/1000']:.2f} | {seconds:.0f} |")
    own = next((v for k, v in table.items() if k.startswith("tsad")), None)
    if own is not None:
        for name, fig in table.items():
            if name.startswith("tsad"):
                continue
            diff = {c: own[c] - fig[c] for c in ("score standard", "flags standard")}
            print(f"tsad minus {name}: " + ", ".join(f"{c} {v:+.1f}" for c, v in diff.items()))
    print(f"{len(done)} detectors in {wall:.0f} s wall ({a.jobs} processes)")


if __name__ == "__main__":
    main()
