"""Train the bundled ``tsad-base`` model (reproducible; writes into the package).

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/train_tsad_base.py

The recipe (``Recipe``'s defaults: two weeks of input, a standard per-window scaler,
2,000 steps, nine quantiles) was chosen by ``benchmarks/tsad_base_search.py`` on a
validation third of the pretraining half, never on the half it is scored on
(benchmarks/README.md, "Bundled model"). The network forecasts the correction to
seasonal naive (``--naive-skip 24``: the last day repeated;
``tsad.models.neural_skip``, head initialised at zero). The flags reproduce the
other recipes of the search.

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from m4_holdout import M4_TRAIN

from tsad.bench.m4 import read_wide
from tsad.models.neural_spec import TRAINED_LEVELS, NeuralSpec
from tsad.models.neural_store import ModelStore, data_digest
from tsad.models.neural_train import fit_module
from tsad.models.pretrained_base import MIN_SEASONS, NAME, bundled_dir, periodic_pad

SPLIT_SEED = 21
HOUR = 3_600_000
DAY = 24

#: small on purpose: ~1 M parameters (4.1 MB float32 with a two-week input), sub-ms forward pass
ARCH = {
    "hidden_size": 64,
    "n_heads": 4,
    "encoder_layers": 2,
    "linear_hidden_size": 128,
    "patch_len": 24,
    "stride": 12,
    "revin_subtract_last": False,
}
INPUT = 336
H = 48


@dataclass(frozen=True)
class Recipe:
    """How the bundled network is trained (defaults: the shipped model, chosen by
    ``tsad_base_search.py`` on the validation third of the pretraining half)."""

    steps: int = 2000
    lr: float = 1e-3
    input_size: int = INPUT
    scaler: str | None = "standard"  # per-window scaler; None: ``build_module``'s robust
    point: bool = False  # median head only (MAE): no band
    huber: bool = False  # Huberised pinball loss
    short: int = 0  # padded short-history examples added per series
    naive_skip: int = DAY  # forecast the correction to the last day repeated (0: off)


def spec_for(recipe: Recipe) -> NeuralSpec:
    """The network and training settings of ``recipe``."""
    return NeuralSpec(
        kind="patchtst",
        h=H,
        input_size=recipe.input_size,
        max_steps=recipe.steps,
        learning_rate=recipe.lr,
        windows_batch_size=128,
        seed=SPLIT_SEED,
        levels=() if recipe.point else TRAINED_LEVELS,
        arch={
            **ARCH,
            **({"naive_skip": recipe.naive_skip} if recipe.naive_skip else {}),
            **({"scaler_type": recipe.scaler} if recipe.scaler else {}),
            **({"loss": "huber"} if recipe.huber else {}),
        },
    )


def training_series(ys: list[np.ndarray], recipe: Recipe) -> list[np.ndarray]:
    """The series the network trains on: ``ys``, plus padded short histories."""
    if not recipe.short:
        return ys
    return ys + short_histories(ys, recipe.short, recipe.input_size, SPLIT_SEED)


def split() -> tuple[list[str], list[str]]:
    """(pretraining ids, held-out ids): a seeded permutation of M4 Hourly, halved."""
    ids = sorted(read_wide(M4_TRAIN), key=lambda u: int(u[1:]))
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(ids))
    half = len(ids) // 2
    return sorted(ids[i] for i in perm[:half]), sorted(ids[i] for i in perm[half:])


def validation_split() -> tuple[list[str], list[str]]:
    """The pretraining half cut again, seeded: (fit ids, validation ids), 2:1. Recipes
    are chosen on the validation third; the held-out half is only ever scored."""
    ids, _ = split()
    perm = np.random.default_rng(SPLIT_SEED + 1).permutation(len(ids))
    cut = 2 * len(ids) // 3
    return sorted(ids[i] for i in perm[:cut]), sorted(ids[i] for i in perm[cut:])


def train(recipe: Recipe, ids: list[str], out: Path) -> Path:
    """Train ``recipe`` on the M4 series ``ids`` and store it under ``out``."""
    wide = read_wide(M4_TRAIN)
    ys = training_series([wide[u] for u in ids], recipe)
    spec = spec_for(recipe)
    fitted = fit_module(spec, ys, threads=1)
    path = ModelStore(out).save(
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
    print(f"{NAME}: {len(ys)} series, {recipe.steps} steps, {fitted.seconds:.0f} s → {path}")
    print(f"size {path.stat().st_size / 1e6:.2f} MB")
    return path


def short_histories(
    ys: list[np.ndarray], per_series: int, input_size: int, seed: int
) -> list[np.ndarray]:
    """Training examples shaped like what the model serves: a history of 2 seasons up to
    one input window, cut at a random point of a series, extended backwards exactly as
    serving does (``periodic_pad``), followed by the ``H`` points after it."""
    rng = np.random.default_rng(seed)
    out = []
    for y in ys:
        for _ in range(per_series):
            length = int(rng.integers(MIN_SEASONS * DAY, input_size + 1))
            end = int(rng.integers(length, y.shape[0] - H + 1))
            history = periodic_pad(y[end - length : end], input_size, DAY)
            out.append(np.concatenate([history, y[end : end + H]]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    d = Recipe()
    parser.add_argument("--steps", type=int, default=d.steps)
    parser.add_argument("--out", type=Path, default=bundled_dir())
    parser.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate")
    parser.add_argument("--point", action="store_true", help="median head only (MAE)")
    parser.add_argument("--input", type=int, default=d.input_size, help="input window (points)")
    parser.add_argument(
        "--short", type=int, default=d.short, help="padded short-history examples per series"
    )
    parser.add_argument("--huber", action="store_true", help="Huberised pinball loss")
    parser.add_argument("--scaler", default=d.scaler, help="per-window scaler (default: robust)")
    parser.add_argument(
        "--naive-skip",
        type=int,
        default=d.naive_skip,
        help="forecast the correction to the last N points repeated (0: off; default a day)",
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    recipe = Recipe(
        steps=args.steps,
        lr=args.lr,
        input_size=args.input,
        scaler=args.scaler,
        point=args.point,
        huber=args.huber,
        short=args.short,
        naive_skip=args.naive_skip,
    )
    train(recipe, split()[0], args.out)


if __name__ == "__main__":
    main()
