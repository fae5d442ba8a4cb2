"""Choose how ``tsad-base`` is trained without looking at the series it is scored on.

    OMP_NUM_THREADS=1 nice python3 benchmarks/tsad_base_search.py fit NAME [NAME ...]
    nice python3 benchmarks/tsad_base_search.py table [NAME ...]
    nice python3 benchmarks/tsad_base_search.py calibrate NAME

``fit`` trains each named recipe on two thirds of the pretraining half
(``train_tsad_base.validation_split``) into ``bench-out/tsad-base-search/NAME``;
``table`` scores every fitted recipe on the remaining third with the bundled
model's protocol (``bench_tsad_base.evaluate``: the last 48 points of each series,
the 2/4/7/13 days before as the history), beside ``stats`` and seasonal naive fed
the same histories. The recipe with the lowest mean OWA over the four lengths is
the one to train on the whole half (``train_tsad_base.py``) and score on the
held-out half (``bench_tsad_base.py accuracy``) — that half never enters here.
``calibrate`` measures, on the same validation third, how much the chosen recipe's
raw 95% band must widen to cover 95% at each history length.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tsad_base import HOUR, evaluate, truncated
from m4_holdout import M4_TRAIN
from train_tsad_base import Recipe, train, validation_split

from tsad.bench.m4 import H, M4Series, load_m4
from tsad.detect.calibrate import coverage_factor

OUT = Path("bench-out/tsad-base-search")
DAYS = (2, 4, 7, 13)

#: every field that differs between recipes is spelled out (``Recipe()``'s defaults are
#: the shipped recipe; scaler None is ``build_module``'s robust scaler)
RECIPES: dict[str, Recipe] = {
    # the model shipped before this search: one week of input, robust scaler
    "in168_robust_300": Recipe(steps=300, input_size=168, scaler=None),
    "in168_std_1000": Recipe(steps=1000, input_size=168, scaler="standard"),
    # two weeks of input (the served PatchTST's shape), standard scaler
    "in336_std_500": Recipe(steps=500, input_size=336, scaler="standard"),
    "in336_std_1000": Recipe(steps=1000, input_size=336, scaler="standard"),
    "in336_std_2000": Recipe(steps=2000, input_size=336, scaler="standard"),
    "in336_robust_1000": Recipe(steps=1000, input_size=336, scaler=None),
    "in336_std_1000_lr5e-4": Recipe(steps=1000, lr=5e-4, input_size=336, scaler="standard"),
    "in336_std_1000_huber": Recipe(steps=1000, input_size=336, scaler="standard", huber=True),
    # plus short histories padded as serving pads them, 10 per series
    "in336_std_1000_short10": Recipe(steps=1000, input_size=336, scaler="standard", short=10),
}


def validation_series() -> list[M4Series]:
    """The validation third of the pretraining half (never fitted on, never scored)."""
    _, val_ids = validation_split()
    keep = set(val_ids)
    return [s for s in load_m4(M4_TRAIN, None) if s.uid in keep]


def fit(names: list[str]) -> None:
    fit_ids, _ = validation_split()
    for name in names:
        train(RECIPES[name], fit_ids, OUT / name)


def table(names: list[str]) -> None:
    import torch

    torch.set_num_threads(1)
    series = validation_series()
    names = names or [n for n in RECIPES if (OUT / n).is_dir()]
    print(f"validation third of the pretraining half: {len(series)} series, h={H}")
    print("OWA at " + " / ".join(f"{d} d" for d in DAYS) + " · mean · 95% coverage range")
    refs: dict[str, list[float]] = {}
    for name in names:
        owa, cover = [], []
        for d in DAYS:
            # raw quantiles: the band calibration is measured afterwards (``calibrate``)
            scores = evaluate(series, d, OUT / name, calibrated=False)
            owa.append(scores["tsad-base"].owa)
            cover.append(scores["tsad-base"].coverage)
            if name == names[0]:  # the references do not depend on the recipe
                for ref in ("stats", "seasonal naive"):
                    refs.setdefault(ref, []).append(scores[ref].owa)
        cells = " / ".join(f"{v:.3f}" for v in owa)
        print(
            f"{name:26s} {cells} · {np.mean(owa):.3f} · {min(cover):.3f}–{max(cover):.3f}",
            flush=True,
        )
    for ref, owa in refs.items():
        cells = " / ".join(f"{v:.3f}" for v in owa)
        print(f"{ref:26s} {cells} · {np.mean(owa):.3f}")


def calibrate(name: str) -> None:
    """The factor on the raw band's half-widths that makes the 95% band of recipe
    ``name`` cover 95% of the validation targets, per history length: the values of
    ``tsad.models.pretrained_base.WIDEN_BY_SEASONS``."""
    import torch

    from tsad.models.pretrained_base import BaseModelForecaster

    torch.set_num_threads(1)
    series = validation_series()
    raw = BaseModelForecaster(root=OUT / name, calibrated=False)
    print(f"{name}: 95% band on {len(series)} validation series, h={H}")
    print("days  raw coverage  factor for 95%")
    for d in DAYS:
        fcs = raw.forecast_many(truncated(series, d), HOUR, H, [95])
        errors, halves, inside = [], [], []
        for s, fc in zip(series, fcs, strict=True):
            b = fc.band
            err = s.test - b.mean
            errors.append(err)
            halves.append(np.where(err >= 0, b.hi[95] - b.mean, b.mean - b.lo[95]))
            inside.append((s.test >= b.lo[95]) & (s.test <= b.hi[95]))
        # the same rule as a series' own in-sample calibration (one half per side)
        factor = coverage_factor(np.concatenate(errors), np.concatenate(halves), 95.0) or 1.0
        print(f"{d:4d}  {np.mean(np.concatenate(inside)):12.3f}  {factor:.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("part", choices=["fit", "table", "calibrate"])
    parser.add_argument("names", nargs="*", help=f"recipes: {', '.join(RECIPES)}")
    args = parser.parse_args()
    if args.part == "fit":
        fit(args.names or list(RECIPES))
    elif args.part == "calibrate":
        for name in args.names:
            calibrate(name)
    else:
        table(args.names)


if __name__ == "__main__":
    main()
