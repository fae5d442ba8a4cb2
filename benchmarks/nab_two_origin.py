"""Replay variant for the ranking study: each point's band from the latest refit *and*
from the one before it (one horizon further ahead), cached per file.

nice python3 benchmarks/nab_two_origin.py [--data DIR] [--out /work/cache13/two]

Writes ``OUT/auto/<folder>__<file>.npz`` (the layout ``nab_cv.cached_bands`` reads).

Same refit positions, history cleaning and forecaster as ``replay_bands`` (tsad.detect.
online); each fit forecasts two horizons, the second of which is kept as the "older
origin" band of the next chunk. ``nab_rank_study.py --two-origin`` scores against both.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tsad.bench.detector import forward_rows
from tsad.bench.nab import NabFile, load_corpus
from tsad.detect import calibrate
from tsad.detect.online import _first_fit_index, refit_horizon
from tsad.detect.residual_score import seasonal_reference
from tsad.detect.robust import robust_history
from tsad.models.registry import ModelRegistry
from tsad.prepare import prepare
from tsad.series import Series, regularise, season_length

LEVEL = 99.0


def two_origin(f: NabFile, model: str = "auto") -> dict[str, np.ndarray]:
    keep = forward_rows(f.ts)
    forecaster = ModelRegistry().get(model)
    p = prepare(f.ts[keep], f.value[keep], min_points=forecaster.min_points(1))
    step = p.step_ms
    n = p.regular.ts.shape[0]
    h = refit_horizon(step)
    season = season_length(step)
    slots = p.slots
    first_ts = int(p.regular.ts[0]) if n else 0
    out = {k: np.full(n, np.nan) for k in ("mean", "lo", "hi", "ref", "mean2", "lo2", "hi2")}
    t0 = _first_fit_index(slots, forecaster.min_points(step))
    while t0 < n:
        k = int(np.searchsorted(slots, t0, side="left"))
        hist = regularise(Series(p.raw.ts[:k], p.raw.y[:k]), step).series
        hist = robust_history(hist, step)
        steps = min(h, n - t0)
        lead = int((first_ts + t0 * step - int(hist.ts[-1])) // step)
        fc = calibrate.forecast(forecaster, hist, step, lead - 1 + 2 * h, [LEVEL])
        b = fc.band
        a, z = lead - 1, lead - 1 + steps
        out["mean"][t0 : t0 + steps] = b.mean[a:z]
        out["lo"][t0 : t0 + steps] = b.lo[LEVEL][a:z]
        out["hi"][t0 : t0 + steps] = b.hi[LEVEL][a:z]
        r = seasonal_reference(hist.y, season, lead - 1 + h)
        out["ref"][t0 : t0 + steps] = r[a:z]
        nxt = min(h, n - t0 - steps)
        if nxt > 0:
            s2 = slice(t0 + steps, t0 + steps + nxt)
            out["mean2"][s2] = b.mean[z : z + nxt]
            out["lo2"][s2] = b.lo[LEVEL][z : z + nxt]
            out["hi2"][s2] = b.hi[LEVEL][z : z + nxt]
        t0 += steps
    res = {k: v[slots] for k, v in out.items()}
    res["keep"] = keep
    res["season"] = np.array(season)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/nab"))
    ap.add_argument("--out", type=Path, default=Path("/work/cache13/two"))
    a = ap.parse_args()
    (a.out / "auto").mkdir(parents=True, exist_ok=True)
    for f in load_corpus(a.data).files:
        path = a.out / "auto" / f.key.replace("/", "__").replace(".csv", ".npz")
        if not path.is_file():
            np.savez(path, **two_origin(f))  # type: ignore[arg-type]
            print(f.key, flush=True)


if __name__ == "__main__":
    main()
