"""Search for the global PatchTST's defaults on the M4 Hourly hold-out (last 48 of
each training series): input length, patching, depth, scaling (RevIN or a
per-window scaler), loss and training steps. Prints sMAPE, MASE, OWA and 95%
coverage per configuration, with ``stats``-free peers (the current defaults)
in the same run when asked (``--configs current,...``).

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/patchtst_search.py \
        --configs in336_p24,in168_p24 --steps 500 [--limit 100]

Every configuration trains one global model on all (or ``--limit``) series with
one torch thread, through the service's own spec → module → fast-predict path
(``tsad.models.neural_spec.build_module``, ``neural_fast.predict_windows``), so
the defaults it picks are exactly what ``model=patchtst`` runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))

from m4_holdout import load, score

from tsad.bench.m4 import H
from tsad.models.neural_fast import band_from_quantiles, predict_windows, sorted_probs
from tsad.models.neural_spec import TRAINED_LEVELS, NeuralSpec
from tsad.models.neural_train import fit_module

BASE: dict[str, Any] = {
    "hidden_size": 64,
    "n_heads": 4,
    "encoder_layers": 2,
    "linear_hidden_size": 128,
    "patch_len": 16,
    "stride": 8,
    "revin_subtract_last": False,
}

#: the shipped shape: day-long patches, standard scaler under RevIN, seasonal-naive skip
_STD_SKIP: dict[str, Any] = {
    "patch_len": 24,
    "stride": 12,
    "scaler_type": "standard",
    "naive_skip": 24,
}
#: twice the width
_WIDE: dict[str, Any] = {"hidden_size": 128, "linear_hidden_size": 256}

#: name → (input_size, arch overrides); steps/learning rate come from the command line
CONFIGS: dict[str, tuple[int, dict[str, Any]]] = {
    # the defaults before this search (input 4 days, robust scaler on top of RevIN)
    "current": (96, {}),
    "in168": (168, {}),
    "in336": (336, {}),
    "in336_p24": (336, {"patch_len": 24, "stride": 12}),
    "in336_p24s24": (336, {"patch_len": 24, "stride": 24}),
    "in168_p24": (168, {"patch_len": 24, "stride": 12}),
    "in480_p24": (480, {"patch_len": 24, "stride": 12}),
    "in336_p24_norevin": (336, {"patch_len": 24, "stride": 12, "revin": False}),
    "in336_p24_std": (336, {"patch_len": 24, "stride": 12, "scaler_type": "standard"}),
    "in336_p24_revin_only": (
        336,
        {"patch_len": 24, "stride": 12, "scaler_type": "identity", "revin": True},
    ),
    "in480_p24_std": (480, {"patch_len": 24, "stride": 12, "scaler_type": "standard"}),
    "in336_p24_l3": (336, {"patch_len": 24, "stride": 12, "encoder_layers": 3}),
    "in336_p24_l1": (336, {"patch_len": 24, "stride": 12, "encoder_layers": 1}),
    "in336_p24_h128": (
        336,
        {"patch_len": 24, "stride": 12, "hidden_size": 128, "linear_hidden_size": 256},
    ),
    "in336_p24_huber": (336, {"patch_len": 24, "stride": 12, "loss": "huber"}),
    # the network forecasts the correction to the last day repeated (neural_skip.py)
    "in336_p24_std_skip": (336, _STD_SKIP),
    "in336_p24_skip": (336, {"patch_len": 24, "stride": 12, "naive_skip": 24}),
    # width, depth and input with the skip (issue 21, stop of 2026-12-02)
    "in336_p24_std_skip_h128": (336, {**_STD_SKIP, **_WIDE}),
    "in336_p24_std_skip_l3": (336, {**_STD_SKIP, "encoder_layers": 3}),
    "in480_p24_std_skip": (480, _STD_SKIP),
    "in480_p24_std_skip_h128": (480, {**_STD_SKIP, **_WIDE}),
    "in168_p24_std_skip": (168, _STD_SKIP),
}


def spec_for(name: str, steps: int, lr: float, batch: int, seed: int) -> NeuralSpec:
    input_size, arch = CONFIGS[name]
    return NeuralSpec(
        kind="patchtst",
        h=H,
        input_size=input_size,
        max_steps=steps,
        learning_rate=lr,
        windows_batch_size=batch,
        seed=seed,
        levels=TRAINED_LEVELS,
        arch={**BASE, **arch},
    )


def run(name: str, steps: int, lr: float, batch: int, limit: int | None, seed: int) -> str:
    series = load(limit)
    spec = spec_for(name, steps, lr, batch, seed)
    start = time.perf_counter()
    fitted = fit_module(spec, [s.train for s in series], threads=1)
    fit_s = time.perf_counter() - start
    windows = np.stack([s.train[-spec.input_size :] for s in series])
    q = predict_windows(fitted.module, windows)
    probs = sorted_probs(fitted.module)
    means, los, his = [], [], []
    for i in range(len(series)):
        band = band_from_quantiles(np.arange(H, dtype=np.int64), probs, q[i, :H], [95])
        means.append(band.mean)
        los.append(band.lo[95])
        his.append(band.hi[95])
    sc = score(series, means, los, his)
    return f"{name:22s} {spec.input_size:5d} {steps:6d} {lr:7.0e} | {sc.row()} | {fit_s:7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", default="current,in336_p24")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    print("config                 input  steps      lr |  sMAPE   MASE    OWA  cov95 |  fit[s]")
    for name in args.configs.split(","):
        print(run(name, args.steps, args.lr, args.batch, args.limit, args.seed), flush=True)


if __name__ == "__main__":
    main()
