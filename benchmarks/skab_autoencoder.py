"""Does a small autoencoder earn its place over PCA T² + Q on SKAB? Same protocol,
features and threshold stage as ``tsad bench skab`` (``tsad.bench.skab``): fit on the
first 400 rows of each file, the outlier features of ``TUNING['pca']`` (10-row level and
level minus the 60-row mean), ratio = the row's reconstruction error over its 99th
percentile on the training rows; leave-one-folder-out CV of smooth × k by F1, beside
PCA's ratio on the same features and grid. A torch MLP (16-16-4-16-16, tanh, 300 full-batch
Adam steps, seeded), CPU, one thread.

    OMP_NUM_THREADS=1 nice python3 benchmarks/skab_autoencoder.py --data ../shared/data/skab/data
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tsad.bench.skab import TRAIN_ROWS, SkabFile, f1_of, flags_from, load_skab, ratios
from tsad.multivariate.scoring import TUNING, Tuning
from tsad.series import FloatArray

SMOOTH = (1, 5, 10, 30)
K = (1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)


def ae_ratio(features: FloatArray, seed: int = 0) -> FloatArray:
    import torch

    torch.set_num_threads(1)
    train = features[:TRAIN_ROWS]
    mu, sd = train.mean(axis=0), train.std(axis=0)
    sd = np.where(sd > 1e-9, sd, 1.0)
    z = torch.tensor((features - mu) / sd, dtype=torch.float32)
    t = z[:TRAIN_ROWS]
    torch.manual_seed(seed)
    d = z.shape[1]
    net = torch.nn.Sequential(
        torch.nn.Linear(d, 16), torch.nn.Tanh(), torch.nn.Linear(16, 4), torch.nn.Tanh(),
        torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, d),
    )  # fmt: skip
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(300):
        opt.zero_grad()
        loss = ((net(t) - t) ** 2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        err = ((net(z) - z) ** 2).sum(dim=1).numpy()
    out: FloatArray = err / max(float(np.quantile(err[:TRAIN_ROWS], 0.99)), 1e-12)
    return out


def cv_f1(files: Sequence[SkabFile], raw: Sequence[FloatArray], base: Tuning) -> dict[str, float]:
    cands = []
    for s, k in itertools.product(SMOOTH, K):
        t = Tuning(base.window, base.long, s, k, True, base.options)
        cands.append([flags_from(r, t) for r in raw])
    held_t, held_p = [], []
    for out in sorted({f.folder for f in files}):
        tr = [i for i, f in enumerate(files) if f.folder != out]
        te = [i for i, f in enumerate(files) if f.folder == out]
        best = max(cands, key=lambda c: f1_of([files[i] for i in tr], [c[i] for i in tr]))
        held_t += [files[i] for i in te]
        held_p += [best[i] for i in te]
    on_all = max(f1_of(files, c) for c in cands)
    return {"held_out_f1": round(f1_of(held_t, held_p), 4), "in_sample_f1": round(on_all, 4)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    args = ap.parse_args()
    files = load_skab(args.data)
    base = TUNING["pca"]
    t0 = time.perf_counter()
    ae = [ae_ratio(base.features(f.aligned.values)) for f in files]
    ae_s = (time.perf_counter() - t0) / len(files)
    pca = [ratios(f, "pca", base) for f in files]
    print(
        json.dumps({"autoencoder": {**cv_f1(files, ae, base), "train_s_per_file": round(ae_s, 2)}})
    )
    print(json.dumps({"pca": cv_f1(files, pca, base)}))


if __name__ == "__main__":
    main()
