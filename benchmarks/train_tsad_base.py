"""Train the bundled ``tsad-base`` model (reproducible; writes into the package).

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/train_tsad_base.py [--steps 300]

The network forecasts the correction to seasonal naive (``--naive-skip 24``: the last
day repeated; ``tsad.models.neural_skip``, head initialised at zero), and trains 300
steps: on the unseen half, longer training made it worse (benchmarks/README.md,
"Bundled model": 1,000 steps sMAPE 17.6, 4,000 steps worse still).

Data: a seeded half of the M4 Hourly training set (``SPLIT_SEED``; the other half
is what ``benchmarks/bench_tsad_base.py`` scores on), the full training part of
each chosen series (its last 48 points included: the held-out half never enters).
One torch thread, neuralforecast's own trainer, seed fixed: the same command
writes the same weights on the same torch/neuralforecast versions.

Output: ``tsad/models/pretrained/patchtst/tsad-base.{safetensors,json}``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from m4_holdout import M4_TRAIN

from tsad.bench.m4 import read_wide
from tsad.models.neural_spec import TRAINED_LEVELS, NeuralSpec
from tsad.models.neural_store import ModelStore, data_digest
from tsad.models.neural_train import fit_module
from tsad.models.pretrained_base import NAME, bundled_dir

SPLIT_SEED = 21
HOUR = 3_600_000

#: small on purpose: ~0.4 M parameters (~1.6 MB float32), sub-ms forward pass
ARCH = {
    "hidden_size": 64,
    "n_heads": 4,
    "encoder_layers": 2,
    "linear_hidden_size": 128,
    "patch_len": 24,
    "stride": 12,
    "revin_subtract_last": False,
}
INPUT = 168
H = 48


def split() -> tuple[list[str], list[str]]:
    """(pretraining ids, held-out ids): a seeded permutation of M4 Hourly, halved."""
    ids = sorted(read_wide(M4_TRAIN), key=lambda u: int(u[1:]))
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(ids))
    half = len(ids) // 2
    return sorted(ids[i] for i in perm[:half]), sorted(ids[i] for i in perm[half:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--out", type=Path, default=bundled_dir())
    parser.add_argument("--scaler", default=None, help="per-window scaler (default: robust)")
    parser.add_argument(
        "--naive-skip",
        type=int,
        default=24,
        help="forecast the correction to the last N points repeated (0: off; default a day)",
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    wide = read_wide(M4_TRAIN)
    train_ids, _ = split()
    ys = [wide[u] for u in train_ids]
    spec = NeuralSpec(
        kind="patchtst",
        h=H,
        input_size=INPUT,
        max_steps=args.steps,
        learning_rate=1e-3,
        windows_batch_size=128,
        seed=SPLIT_SEED,
        levels=TRAINED_LEVELS,
        arch={
            **ARCH,
            **({"naive_skip": args.naive_skip} if args.naive_skip else {}),
            **({"scaler_type": args.scaler} if args.scaler else {}),
        },
    )
    fitted = fit_module(spec, ys, threads=1)
    store = ModelStore(args.out)
    path = store.save(
        NAME,
        spec,
        fitted.module,
        step_ms=HOUR,
        digest=data_digest(ys, HOUR),
        series=len(ys),
        points=sum(int(y.shape[0]) for y in ys),
        fit_seconds=fitted.seconds,
    )
    for written in (path, path.with_suffix(".json")):
        written.chmod(0o644)  # mkstemp's 0600 would ship unreadable to other users
    print(f"{NAME}: {len(ys)} series, {args.steps} steps, {fitted.seconds:.0f} s → {path}")
    print(f"size {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
