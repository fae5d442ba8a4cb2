"""Which members make the ``ensemble`` most accurate (issue 21): one global model per
candidate member on the M4 Hourly hold-out (414 series, last 48 of each held out),
its point forecasts cached, then every combination scored by OWA.

    OMP_NUM_THREADS=1 nice python3 benchmarks/ensemble_search.py fit NAME [--cache DIR]
    python3 benchmarks/ensemble_search.py combos [--cache DIR] [--seed 21]
    python3 benchmarks/ensemble_search.py bag NAME NAME [...] [--cache DIR]

``fit`` trains one member (run two at a time on two cores) through the service's own
``fit_many`` → ``point_many`` path, in a model directory inside the cache, and writes
``DIR/NAME.npz`` (points ``[414, 48]``, fit seconds). ``stats`` is the ``stats`` model
(its 95% band is kept too: it is the ensemble's band). ``combos`` scores the median
(floored at the fit window's minimum, as the ensemble does) of every subset of the
cached members that includes ``stats``, on all series, and — because choosing the
members on the same hold-out flatters the winner — on a seeded half-split: the best
subset of each half is scored on the other half.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from m4_holdout import load, score

from tsad.bench.m4 import STEP_MS, H
from tsad.models.naive import lagged
from tsad.models.neural_spec import Variant
from tsad.series import Series
from tsad.settings import ModelSettings

#: candidate members: name → (kind, variant, seed). The shipped neural members
#: (tsad.models.ensemble.MEMBERS) are nhits20_s2, nhits17_s3, nhits24_s5 and ptst14_pt_1500.
CANDIDATES: dict[str, tuple[str, Variant, int]] = {
    "nhits14_s1": ("nhits", Variant(14, "standard", True, 3000), 1),
    "nhits20_s2": ("nhits", Variant(20, "standard", True, 3000), 2),
    "nhits17_s3": ("nhits", Variant(17, "standard", True, 3000), 3),
    # more NHITS seeds / inputs: a fourth member trains beside the third with --jobs 2
    "nhits14_s4": ("nhits", Variant(14, "standard", True, 3000), 4),
    "nhits24_s5": ("nhits", Variant(24, "standard", True, 3000), 5),
    # PatchTST at its searched defaults (14-day input, patch 24/12, standard + RevIN)
    "ptst14_mq_1500": ("patchtst", Variant(14, None, False, 1500), 1),
    # more seeds of the served patchtst: does averaging seeds (a bag) reach the goal?
    "ptst14_mq_1500_s2": ("patchtst", Variant(14, None, False, 1500), 2),
    "ptst14_mq_1500_s3": ("patchtst", Variant(14, None, False, 1500), 3),
    "ptst14_mq_1500_s4": ("patchtst", Variant(14, None, False, 1500), 4),
    "ptst14_mq_3000": ("patchtst", Variant(14, None, False, 3000), 1),
    "ptst14_mq_3000_s2": ("patchtst", Variant(14, None, False, 3000), 2),
    "ptst14_pt_1500": ("patchtst", Variant(14, None, True, 1500), 1),
    "ptst20_pt_1500": ("patchtst", Variant(20, None, True, 1500), 2),
    "ptst14_pt_1000": ("patchtst", Variant(14, None, True, 1000), 1),
    "ptst7_pt_1500": ("patchtst", Variant(7, None, True, 1500), 3),
}
DEFAULT_CACHE = Path("bench-out/ensemble-search")
FIT_WINDOW = ModelSettings().fit_window


def _histories() -> tuple[list, list[Series]]:
    series = load()
    hist = [Series(np.arange(s.train.shape[0], dtype=np.int64) * STEP_MS, s.train) for s in series]
    return series, hist


def fit(name: str, cache: Path) -> None:
    series, hist = _histories()
    cache.mkdir(parents=True, exist_ok=True)
    settings = ModelSettings(model_dir=str(cache / "models" / name))
    start = time.perf_counter()
    if name == "stats":
        from tsad.models.stats import StatsForecaster

        model = StatsForecaster(settings)
        fcs = [model.forecast(h, STEP_MS, H, [95.0]) for h in hist]
        points = np.stack([f.band.mean for f in fcs])
        lo = np.stack([f.band.lo[95.0] for f in fcs])
        hi = np.stack([f.band.hi[95.0] for f in fcs])
        np.savez(cache / f"{name}.npz", points=points, lo=lo, hi=hi, seconds=0.0)
    else:
        from tsad.models.member_fit import member_horizon
        from tsad.models.neural import NHITSForecaster, PatchTSTForecaster

        kind, variant, seed = CANDIDATES[name]
        cls = NHITSForecaster if kind == "nhits" else PatchTSTForecaster
        member = cls(settings, variant=variant, seed=seed)
        hh = member_horizon(STEP_MS, H)
        member.fit_many(hist, STEP_MS, hh)
        fit_s = time.perf_counter() - start
        points = member.point_many(hist, STEP_MS, hh)[:, :H]
        extra = {}
        if not variant.point_only:
            # a quantile member's own 95% band (what ``model=patchtst`` serves)
            fcs = member.forecast_many(hist, STEP_MS, H, [95.0], fit_if_missing=False)
            extra = {
                "lo": np.stack([f.band.lo[95.0] for f in fcs]),
                "hi": np.stack([f.band.hi[95.0] for f in fcs]),
            }
        np.savez(cache / f"{name}.npz", points=points, seconds=fit_s, **extra)
    seconds = time.perf_counter() - start
    s = score(series, list(points))
    print(f"{name}: OWA {s.owa:.4f} sMAPE {s.smape:.2f} MASE {s.mase:.3f} ({seconds:.0f} s)")


def _floor(series: list) -> np.ndarray:
    return np.array([float(np.min(s.train[-FIT_WINDOW:])) for s in series])


#: members that need no fit: seasonal naive at a day and a week, and the mean of
#: the last two weeks (hourly data: season 24, week 168)
NAIVE = {
    "snaive_day": lambda y: lagged(y, 24, H),
    "snaive_week": lambda y: lagged(y, 168, H),
    "snaive_week2": lambda y: lagged(y, 336, H),
    "snaive_2weeks_mean": lambda y: (lagged(y, 168, H) + lagged(y, 336, H)) / 2,
}


def combos(cache: Path, seed: int) -> None:
    series, _ = _histories()
    found = {p.stem: dict(np.load(p)) for p in sorted(cache.glob("*.npz"))}
    if "stats" not in found:
        raise SystemExit(f"no stats.npz in {cache}: run `fit stats` first")
    for n, rule in NAIVE.items():
        found[n] = {"points": np.stack([rule(s.train) for s in series]), "seconds": 0.0}
    names = [n for n in found if n != "stats"]
    floor = _floor(series)[:, None]
    for n in ["stats", *names]:
        s_pts = found[n]["points"]
        raw = score(series, list(s_pts)).owa
        s = score(series, list(np.maximum(found[n]["points"], floor)))
        cov = ""
        if "lo" in found[n]:
            # the member's served band (already floored by ``forecast_many``)
            lo, hi = list(found[n]["lo"]), list(found[n]["hi"])
            cov = f", served 95% coverage {score(series, list(s_pts), lo, hi).coverage:.3f}"
        print(
            f"member {n:16s} OWA {raw:.4f}, floored {s.owa:.4f}{cov}"
            f"  (fit {float(found[n]['seconds']):.0f} s)"
        )
    idx = np.random.default_rng(seed).permutation(len(series))
    halves = [np.sort(idx[: len(idx) // 2]), np.sort(idx[len(idx) // 2 :])]
    fast = _FastOWA(series)
    everyone = np.arange(len(series))
    rows: list[tuple[float, float, float, str]] = []
    for k in range(1, len(names) + 1):
        for subset in itertools.combinations(names, k):
            stack = np.stack([found["stats"]["points"], *(found[n]["points"] for n in subset)])
            mean = np.maximum(np.median(stack, axis=0), floor)
            a, b = (fast.owa(mean, half) for half in halves)
            rows.append((fast.owa(mean, everyone), a, b, "+".join(("stats", *subset))))
    rows.sort()
    print(f"\n{len(rows)} subsets; the best 25:")
    print(f"{'OWA all':>8} {'half A':>8} {'half B':>8}  members (median, floored)")
    for whole, a, b, label in rows[:25]:
        print(f"{whole:8.4f} {a:8.4f} {b:8.4f}  {label}")
    best_a = min(rows, key=lambda r: r[1])
    best_b = min(rows, key=lambda r: r[2])
    print(
        f"\nchosen on half A: {best_a[3]} → half B OWA {best_a[2]:.4f}\n"
        f"chosen on half B: {best_b[3]} → half A OWA {best_b[1]:.4f}"
    )
    for label in (SHIPPED, *(r[3] for r in rows[:1])):
        for whole, a, b, lab in rows:
            if set(lab.split("+")) == set(label.split("+")):
                print(f"{lab}: all {whole:.4f}, half A {a:.4f}, half B {b:.4f}")


def bag(names: list[str], cache: Path) -> None:
    """The seeds ``names`` of one quantile model averaged (points and 95% bounds: the
    mean of the members' quantiles), floored as served: would a bag of seeds do better
    than any one of them?"""
    series, _ = _histories()
    found = [dict(np.load(cache / f"{n}.npz")) for n in names]
    floor = _floor(series)[:, None]
    for n, f in zip(names, found, strict=True):
        s = score(series, list(np.maximum(f["points"], floor)), list(f["lo"]), list(f["hi"]))
        print(f"{n:20s} floored OWA {s.owa:.4f} sMAPE {s.smape:.2f} cov95 {s.coverage:.3f}")
    for k in range(2, len(names) + 1):
        for subset in itertools.combinations(range(len(names)), k):
            pts = np.maximum(np.mean([found[i]["points"] for i in subset], axis=0), floor)
            lo = np.mean([found[i]["lo"] for i in subset], axis=0)
            hi = np.mean([found[i]["hi"] for i in subset], axis=0)
            s = score(series, list(pts), list(lo), list(hi))
            label = "+".join(names[i] for i in subset)
            print(f"bag {label}: OWA {s.owa:.4f} sMAPE {s.smape:.2f} cov95 {s.coverage:.3f}")


#: the ensemble's members (tsad.models.ensemble)
SHIPPED = "stats+ptst14_pt_1500+nhits20_s2+nhits17_s3+nhits24_s5+snaive_day+snaive_2weeks_mean"


class _FastOWA:
    """OWA of many candidate forecasts over subsets of the series: Naive2's errors and
    the MASE scales computed once (same formulas as ``m4_holdout.score``)."""

    def __init__(self, series: list) -> None:
        from tsad.bench.m4 import SEASON
        from tsad.bench.m4_metrics import naive2, seasonal_scale

        self.y = np.stack([s.test[:H] for s in series])
        self.scale = np.array([seasonal_scale(s.train, SEASON) or 1.0 for s in series])
        n2 = np.stack([naive2(s.train, H, SEASON) for s in series])
        self.sm2, self.ms2 = self._errors(n2)

    def _errors(self, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        den = np.abs(self.y) + np.abs(f)
        ratio = np.where(den > 0, 200.0 * np.abs(self.y - f) / np.where(den > 0, den, 1), 0)
        return ratio.mean(axis=1), np.abs(self.y - f).mean(axis=1) / self.scale

    def owa(self, f: np.ndarray, rows: np.ndarray) -> float:
        from tsad.bench.m4_metrics import owa

        sm, ms = self._errors(f)
        return float(
            owa(
                float(sm[rows].mean()),
                float(ms[rows].mean()),
                float(self.sm2[rows].mean()),
                float(self.ms2[rows].mean()),
            )
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fit")
    f.add_argument("name", choices=["stats", *CANDIDATES])
    f.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    c = sub.add_parser("combos")
    c.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    c.add_argument("--seed", type=int, default=21)
    b = sub.add_parser("bag")
    b.add_argument("names", nargs="+", choices=list(CANDIDATES))
    b.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = ap.parse_args()
    if args.cmd == "fit":
        fit(args.name, args.cache)
    elif args.cmd == "bag":
        bag(args.names, args.cache)
    else:
        combos(args.cache, args.seed)


if __name__ == "__main__":
    main()
