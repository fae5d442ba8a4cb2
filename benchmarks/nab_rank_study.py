"""Ranking-score study, second round (issue 13): the ideas ``nab_score_study.py`` left.

nice python3 benchmarks/nab_rank_study.py [--cache /work/cache/nab-shipped]
    [--base before|shipped] [--only LABEL,...] [--grid NAME] [--attribute]
    [--two-origin min|max|mean|wide|older --cache DIR] [--flat-sigma median|first]
    [--ref-mean ref|half]

Scorer variants on cached bands (``benchmarks/nab_cv.py --cache``). ``RankScorer`` is a
parametrised twin of ``tsad.detect.residual_score.ScorerState.update``: ``SHIPPED``
reproduces the shipped scores exactly (checked first), ``Params()`` is the scorer at
acb3f4b (before the re-alarm rule). Knobs: a re-alarm margin after an incident that
alarmed (shipped), channel offsets, a per-series tail index (running Hill estimate) and
a per-series record-break-rate calibration, the sum of channels instead of the largest,
longer burst, one-step-move and weekly channels, per-channel record half-lives, record
floor, range bonus, refractory. Band transforms: two forecast origins per point
(``nab_two_origin.py``), a width constant over each refit, the band re-centred on the
seasonal reference.

Each row: the ranking score (best threshold afterwards), the ranking held out (the
threshold chosen on three folders, the fourth scored at it), the flags in sample and held
out (sensitivity chosen on three folders), flags per 1,000 after probation and on
artificialNoAnomaly. ``--grid`` chooses a family's constants by leave-one-folder-out (for
the flags with the sensitivity; for the ranking with the threshold). ``--attribute``
prints, at the best threshold, which channel set each false positive and each first
detection in a window, and each missed window's best score. Figures: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import nab_cv  # type: ignore[import-not-found]  # benchmarks/ is on sys.path when run
import numpy as np
from nab_score_study import patched  # type: ignore[import-not-found]

import tsad.detect.flags as flags_mod
import tsad.detect.residual_score as rs
from tsad.bench.nab import load_corpus
from tsad.bench.nab_scoring import PROFILES, row_weights, score_file, sweep_thresholds

NOTHING = rs._NOTHING
CHANNELS = ("residual", "burst", "seasonal", "range")


@dataclass(frozen=True)
class Params:
    """One scorer variant; the defaults are the scorer at acb3f4b (before this study);
    ``SHIPPED`` below is today's."""

    half_life: float = rs.HALF_LIFE
    record_floor: float = rs.RECORD_FLOOR
    range_bonus: float = rs.RANGE_BONUS
    refractory: int = rs.REFRACTORY
    off_residual: float = 0.0
    off_burst: float = 0.0
    off_seasonal: float = 0.0
    tail: tuple[str, ...] = ()  # channels whose log ratio is scaled by the tail index
    tail_q: float = 0.9  # quantile above which the Hill estimate is taken
    tail_clip: tuple[float, float] = (0.5, 4.0)
    tail_memory: float = 2000.0  # half-life (points) of the Hill estimate
    tail_ref: float = 1.0  # tail index that leaves the log ratio unchanged
    calib: float = 0.0  # α of the break-rate calibration
    calib_memory: float = 2000.0
    combine: str = "max"
    long_burst: int = 0  # points of a second, longer burst channel (0: none)
    refire_from: float = math.inf  # incidents at least this strong need refire_margin more
    refire_margin: float = 0.0
    step: str = ""  # "raw": |y − y₋₁| vs its record; "seasonal": minus the reference's step
    step_bonus: float = 0.0
    hl_burst: float = 0.0  # own half-life of the burst record (0: half_life)
    hl_z: float = 0.0
    hl_seasonal: float = 0.0
    alert_penalty: float = 0.0  # log-odds off per log(1 + decayed count of alarms)
    alert_memory: float = 3000.0
    weekly: float = math.nan  # bonus of a channel against the median of 1–3 weeks back


class RankScorer:
    """The shipped update rule with each studied change behind a parameter."""

    def __init__(self, p: Params, season: int) -> None:
        self.p, self.season, self.n = p, season, 0
        self.rec = dict.fromkeys(("z", "burst", "seasonal", "jump", "long"), -math.inf)
        self.long: list[float] = []
        self.rec["step"] = -math.inf
        self.rec["weekly"] = -math.inf
        self.base_weekly = -math.inf
        self.wref = math.nan
        self.alerts = 0.0
        self.last_ref = math.nan
        self.lo, self.hi, self.last = math.inf, -math.inf, None
        self.incident, self.age = -math.inf, 0
        self.base = (-math.inf, -math.inf, -math.inf)
        self.recent: list[float] = []
        # tail index per channel: running quantile q, mean log excess m
        self.q = dict.fromkeys(("residual", "burst", "seasonal"), math.nan)
        self.m = dict.fromkeys(("residual", "burst", "seasonal"), math.nan)
        self.breaks = dict.fromkeys(("residual", "burst", "seasonal"), 0.0)
        self.weight = 0.0
        self.last_channels: dict[str, float] = {}

    def _tail_index(self, c: str, x: float) -> float:
        """Update channel ``c``'s tail estimate with ``x`` (> 0); return the index
        before the update (1 = unchanged while unknown)."""
        p = self.p
        q, m = self.q[c], self.m[c]
        k = p.tail_ref if not (math.isfinite(m) and m > 0) else 1.0 / m
        k = min(max(k, p.tail_clip[0]), p.tail_clip[1])
        if x <= 0:
            return k
        lx = math.log(x)
        if not math.isfinite(q):
            self.q[c] = lx
            return k
        # stochastic-approximation quantile of log x: P(log x <= q) → tail_q
        self.q[c] = q + 0.01 * (p.tail_q - (1.0 if lx <= q else 0.0))
        if lx > q:
            a = 1.0 - 2.0 ** (-1.0 / (p.tail_memory * (1.0 - p.tail_q)))
            ex = lx - q
            self.m[c] = ex if not math.isfinite(m) else m + a * (ex - m)
        return k

    def update(self, y: float, mean: float, sigma: float, ref: float) -> float:
        p, rec = self.p, self.rec
        decay = 2.0 ** (-1.0 / p.half_life)
        for key in rec:
            rec[key] *= decay
        for key, hl in (("burst", p.hl_burst), ("z", p.hl_z), ("seasonal", p.hl_seasonal)):
            if hl:
                rec[key] *= 2.0 ** (-1.0 / hl) / decay
        span = self.hi - self.lo if self.hi > self.lo else 0.0
        floor = rs.FLOOR * max(span, abs(y) * 1e-3, 1e-12)
        sd = max(sigma, floor) if math.isfinite(sigma) else floor
        z = abs(y - mean) / sd if math.isfinite(mean) else 0.0
        rf = p.record_floor
        before = (rec["z"], rec["burst"], rec["seasonal"])
        self.recent.append(z)
        if len(self.recent) > rs.BURST:
            del self.recent[0]
        burst = sum(self.recent) / rs.BURST if len(self.recent) == rs.BURST else 0.0
        dev = abs(y - ref) if math.isfinite(ref) else 0.0
        ch = {
            "residual": _ratio(z, max(rec["z"], rf)),
            "burst": _ratio(burst, max(rec["burst"], rf)),
            "seasonal": _ratio(dev, max(rec["seasonal"], floor)) if dev > floor else NOTHING,
            "range": NOTHING,
        }
        raw = {"residual": z, "burst": burst, "seasonal": dev}
        for c in ("residual", "burst", "seasonal"):
            k = self._tail_index(c, raw[c] / (sd if c == "seasonal" else 1.0))
            if c in p.tail and ch[c] > NOTHING:
                ch[c] *= k / p.tail_ref
        if p.calib:
            self.weight = self.weight * 2.0 ** (-1.0 / p.calib_memory) + 1.0
            for c in ("residual", "burst", "seasonal"):
                self.breaks[c] *= 2.0 ** (-1.0 / p.calib_memory)
                rate = (self.breaks[c] + 1.0) / (self.weight + p.half_life)
                if ch[c] > NOTHING:
                    lr = ch[c]
                    ch[c] -= p.calib * math.log(rate * p.half_life)
                    if lr > 0:
                        self.breaks[c] += 1.0
        ch["residual"] += p.off_residual
        ch["burst"] += p.off_burst
        ch["seasonal"] += p.off_seasonal
        if self.last is not None:
            beyond = max(y - self.hi, self.lo - y, 0.0)
            if beyond > floor and self.n >= rs.RANGE_MIN_POINTS:
                ch["range"] = _ratio(beyond, max(rec["jump"], floor)) + p.range_bonus
            rec["jump"] = max(rec["jump"], abs(y - self.last))
        if p.step and self.last is not None:
            d = y - self.last
            if p.step == "seasonal" and math.isfinite(ref) and math.isfinite(self.last_ref):
                d -= ref - self.last_ref
            d = abs(d)
            if d > floor and self.n >= rs.RANGE_MIN_POINTS:
                ch["step"] = _ratio(d, max(rec["step"], floor)) + p.step_bonus
            rec["step"] = max(rec["step"], d)
        self.last_ref = ref
        wref = self.wref
        if math.isfinite(p.weekly) and math.isfinite(wref):
            wd = abs(y - wref)
            if wd > floor:
                ch["weekly"] = _ratio(wd, max(rec["weekly"], floor)) + p.weekly
            if math.isfinite(self.incident):
                wd = min(wd, max(self.base_weekly, floor) * math.exp(rs.INCIDENT_LEARN))
            rec["weekly"] = max(rec["weekly"], wd)
        if p.long_burst:
            self.long.append(z)
            if len(self.long) > p.long_burst:
                del self.long[0]
            if len(self.long) == p.long_burst:
                lb = sum(self.long) / p.long_burst
                ch["long"] = _ratio(lb, max(rec["long"], rf))
                rec["long"] = max(
                    rec["long"],
                    min(lb, max(before[1], rf) * 2.718) if math.isfinite(self.incident) else lb,
                )
        if p.combine == "sum":
            pos = sum(v for v in ch.values() if v > 0)
            log_odds = pos if pos > 0 else max(ch.values())
        else:
            log_odds = max(ch.values())
        self.last_channels = ch
        if p.alert_penalty:
            self.alerts *= 2.0 ** (-1.0 / p.alert_memory)
            log_odds -= p.alert_penalty * math.log1p(self.alerts)
        trusted = self.n >= rs.warmup_points(self.season)
        self.n += 1
        self.age += 1
        if self.age > p.refractory:
            self.incident = -math.inf
        bar = self.incident
        if math.isfinite(bar) and bar >= p.refire_from:
            bar += p.refire_margin
        damped = log_odds <= bar or not trusted
        if not damped and log_odds > 0:
            if not math.isfinite(self.incident):
                self.base = before
                self.base_weekly = rec["weekly"]
            self.incident, self.age = log_odds, 0
            if log_odds >= rs.ALARM_LOG_ODDS:
                self.alerts += 1.0
        if math.isfinite(self.incident):
            cap = math.exp(rs.INCIDENT_LEARN)
            z = min(z, max(self.base[0], rf) * cap)
            burst = min(burst, max(self.base[1], rf) * cap)
            dev = min(dev, max(self.base[2], floor) * cap)
        rec["z"] = max(rec["z"], z)
        rec["burst"] = max(rec["burst"], burst)
        rec["seasonal"] = max(rec["seasonal"], dev)
        self.lo, self.hi, self.last = min(self.lo, y), max(self.hi, y), y
        score = 1.0 / (1.0 + math.exp(-max(log_odds, NOTHING)))
        return score * rs.DAMP if damped else score


def _ratio(x: float, record: float) -> float:
    if x <= 0 or not math.isfinite(record):
        return NOTHING
    return math.log(x / max(record, 1e-12))


PARAMS = Params()
WREF: list[np.ndarray] = []  # the weekly reference of the file being scored
SHIPPED = Params(refire_from=rs.ALARM_LOG_ODDS, refire_margin=rs.REFIRE_MARGIN)
WINNERS: dict[int, list[str]] = {}  # id(y) → winning channel per point (attribution)


def rank_scores(
    y: np.ndarray, mean: np.ndarray, sigma: np.ndarray, ref: np.ndarray | None = None, **kw: Any
) -> tuple[np.ndarray, np.ndarray, rs.ScorerState]:
    """Drop-in for ``residual_scores`` (what ``flag_stream`` calls) using ``PARAMS``."""
    season = int(kw.get("season", 1))
    scorer = RankScorer(PARAMS, season)
    r = ref if ref is not None else np.full(y.shape[0], np.nan)
    out = np.zeros(y.shape[0])
    win = [""] * y.shape[0]
    w = WREF[0] if WREF and WREF[0].shape[0] == y.shape[0] else np.full(y.shape[0], np.nan)
    rows = zip(y.tolist(), mean.tolist(), sigma.tolist(), r.tolist(), strict=True)
    for i, (a, b, c, d) in enumerate(rows):
        if math.isnan(b) or math.isnan(c):
            scorer.age += 1  # unscored, but time passes: as residual_scores, an incident ages
            continue
        scorer.wref = float(w[i])
        out[i] = scorer.update(a, b, c, d)
        ch = scorer.last_channels
        win[i] = max(ch, key=lambda k: ch[k])
    WINNERS[0] = win
    return out, np.ones(y.shape[0]), rs.ScorerState(season=season)


_RUN_FILE = nab_cv.run_file


def _run_file(f: Any, b: dict[str, np.ndarray], sens: float) -> Any:
    """``nab_cv.run_file`` with the file's weekly reference set for ``RankScorer``."""
    season = int(b["season"])
    y = f.value[b["keep"]]
    WREF[:] = [
        rs.lagged_median(y, 7 * season, [-1, -2, -3]) if season > 1 else np.full(y.shape, np.nan)
    ]
    return _RUN_FILE(f, b, sens)


nab_cv.run_file = _run_file


def evaluate(corpus: Any, bands: Any, params: Params) -> dict[str, Any]:
    global PARAMS
    PARAMS = params
    with patched(flags_mod, "residual_scores", rank_scores):
        return nab_cv.evaluate(corpus, bands)  # type: ignore[no-any-return]


def row(label: str, r: dict[str, Any], held_rank: float | None = None) -> str:
    held = "" if held_rank is None else f" {held_rank:.2f} |"
    return (
        f"| {label} | {r['rank']:.2f} |{held} {r['flags_in_sample']:.2f} @{r['in_sample_sens']:g} "
        f"| {r['flags_held_out']:.2f} | {r['per1000']:.2f} | {r['per1000_quiet']:.2f} |"
    )


def file_items(corpus: Any, bands: Any, params: Params) -> dict[str, Any]:
    """Per file: (NAB rows, scores) under ``params`` (standard profile)."""
    global PARAMS
    PARAMS = params
    cost = PROFILES["standard"]
    with patched(flags_mod, "residual_scores", rank_scores):
        return {
            f.key: (
                row_weights(f.ts.shape[0], f.windows, cost),
                nab_cv.run_file(f, bands[f.key], 95.0)[0],
            )
            for f in corpus.files
        }


def held_out_ranking(corpus: Any, items: dict[Any, dict[str, Any]]) -> float:
    """The ranking score held out: for each folder, the constants *and* the threshold
    that maximise the other three folders' NAB total are scored on it."""
    cost = PROFILES["standard"]
    held = 0.0
    for fold in sorted({f.folder for f in corpus.files}):
        train = [f.key for f in corpus.files if f.folder != fold]
        test = [f.key for f in corpus.files if f.folder == fold]
        best = None
        for v, it in items.items():
            thr, raw = sweep_thresholds([it[k] for k in train], cost).best()
            if best is None or raw > best[2]:
                best = (v, thr, raw)
        assert best is not None
        v, thr, _ = best
        held += sum(score_file(*items[v][k], thr, cost).score for k in test)
        print(f"  ranking, {fold}: picked {v}, threshold {thr:.4f}", flush=True)
    return 100.0 * (held + corpus.n_windows) / (2 * corpus.n_windows)


def attribute(corpus: Any, bands: Any, params: Params) -> None:
    """Which channel fired each FP / first detection at the best threshold."""
    global PARAMS
    PARAMS = params
    cost = PROFILES["standard"]
    per: dict[str, tuple[Any, np.ndarray, list[str]]] = {}
    with patched(flags_mod, "residual_scores", rank_scores):
        for f in corpus.files:
            s, _ = nab_cv.run_file(f, bands[f.key], 95.0)
            win = [""] * f.ts.shape[0]
            keep = np.flatnonzero(bands[f.key]["keep"])
            for j, i in enumerate(keep):
                win[i] = WINNERS[0][j]
            per[f.key] = (row_weights(f.ts.shape[0], f.windows, cost), s, win)
    thr, raw = sweep_thresholds([(r, s) for r, s, _ in per.values()], cost).best()
    print(f"best threshold {thr:.4f} (log-odds {math.log(thr / (1 - thr)):.3f}), raw {raw:.2f}")
    fp_by: dict[str, int] = {}
    tp_by: dict[str, int] = {}
    for key, (rows, s, win) in per.items():
        fs = score_file(rows, s, thr, cost)
        fps = [int(i) for i in fs.detections if rows.window[i] < 0]
        tps = [int(i) for i in fs.detections if rows.window[i] >= 0]
        for i in fps:
            fp_by[win[i]] = fp_by.get(win[i], 0) + 1
        for i in tps:
            tp_by[win[i]] = tp_by.get(win[i], 0) + 1
        lo = lambda v: math.log(max(v, 1e-300) / max(1 - v, 1e-300))  # noqa: E731
        fp_cost = float(rows.weight[fps].sum()) if fps else 0.0
        print(f"{key}: fp {len(fps)} (cost {fp_cost:.2f}) tp {len(tps)} fn {fs.fn}")
        for i in tps:
            w = int(rows.window[i])
            print(f"   tp w{w} at {i} lo {lo(s[i]):.2f} by {win[i]} weight {rows.weight[i]:.2f}")
        for w in rows.windows:
            if not any(rows.window[i] == w for i in tps):
                idx = np.flatnonzero((rows.window == w) & rows.scorable)
                j = idx[int(np.argmax(s[idx]))]
                print(f"   MISS w{w} best lo {lo(s[j]):.2f} at {j} by {win[j]}")
        for i in fps[:40]:
            print(f"   fp at {i} lo {lo(s[i]):.2f} by {win[i]} weight {rows.weight[i]:.3f}")
    print("FP by channel", fp_by, "TP by channel", tp_by)


VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("base scorer (--base)", {}),
    ("residual offset −0.25", {"off_residual": -0.25}),
    ("residual offset −0.5", {"off_residual": -0.5}),
    ("residual offset −1", {"off_residual": -1.0}),
    ("seasonal offset +0.25", {"off_seasonal": 0.25}),
    ("burst offset −0.5", {"off_burst": -0.5}),
    ("tail index on residual", {"tail": ("residual",)}),
    ("tail index on residual, burst, seasonal", {"tail": ("residual", "burst", "seasonal")}),
    ("tail index ref 2", {"tail": ("residual", "burst", "seasonal"), "tail_ref": 2.0}),
    ("break-rate calibration α 0.5", {"calib": 0.5}),
    ("break-rate calibration α 1", {"calib": 1.0}),
    ("sum of positive channels", {"combine": "sum"}),
    ("long burst 24", {"long_burst": 24}),
    ("long burst 72", {"long_burst": 72}),
    ("re-fire margin 0.5 after an alarm (≥0.5)", {"refire_from": 0.5, "refire_margin": 0.5}),
    ("re-fire margin 1 after an alarm (≥0.5)", {"refire_from": 0.5, "refire_margin": 1.0}),
    ("re-fire margin 0.5 after an incident ≥1", {"refire_from": 1.0, "refire_margin": 0.5}),
    ("re-fire never after an alarm (≥0.5)", {"refire_from": 0.5, "refire_margin": math.inf}),
    ("step channel", {"step": "raw"}),
    ("seasonal step channel", {"step": "seasonal"}),
    ("step channel −0.5", {"step": "raw", "step_bonus": -0.5}),
    ("seasonal step channel −0.5", {"step": "seasonal", "step_bonus": -0.5}),
    ("record floor 1.25", {"record_floor": 1.25}),
    ("record floor 1.5", {"record_floor": 1.5}),
    ("range bonus 3", {"range_bonus": 3.0}),
    ("range bonus 4", {"range_bonus": 4.0}),
    ("residual record half-life 600", {"hl_z": 600.0}),
    ("burst record half-life 1200, residual 600", {"hl_z": 600.0, "hl_burst": 1200.0}),
    ("+ weekly channel (median of 1–3 weeks back), bonus 0", {"weekly": 0.0}),
    ("+ weekly channel, bonus −0.5", {"weekly": -0.5}),
    ("+ weekly channel, bonus +0.5", {"weekly": 0.5}),
    ("alarm-rate penalty 0.2 per log(1 + alarms), memory 3,000", {"alert_penalty": 0.2}),
    ("alarm-rate penalty 0.4, memory 3,000", {"alert_penalty": 0.4}),
    ("alarm-rate penalty 0.4, memory 10,000", {"alert_penalty": 0.4, "alert_memory": 1e4}),
    ("refractory 144", {"refractory": 144}),
    ("refractory 288", {"refractory": 288}),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/nab"))
    ap.add_argument("--cache", type=Path, default=Path("/work/cache/nab-shipped"))
    ap.add_argument("--attribute", action="store_true")
    ap.add_argument("--base", default="before", help="before (acb3f4b) | shipped: variants' base")
    ap.add_argument("--only", default="", help="comma-separated variant labels (prefixes)")
    ap.add_argument("--grid", default="", help="name of a LOFO grid to run")
    ap.add_argument("--ref-mean", default="", help="ref|half: band centred on the reference")
    ap.add_argument("--flat-sigma", default="", help="median|first: width constant per refit")
    ap.add_argument(
        "--two-origin", default="", help="min|max|mean|wide|older: nab_two_origin bands"
    )
    a = ap.parse_args()
    corpus = load_corpus(a.data)
    bands = {f.key: nab_cv.cached_bands(f, "auto", a.cache) for f in corpus.files}
    if a.ref_mean:
        for f in corpus.files:
            bands[f.key] = ref_mean(bands[f.key], a.ref_mean)
    if a.flat_sigma:
        for f in corpus.files:
            ts = f.ts[bands[f.key]["keep"]]
            step = int(np.median(np.diff(ts)))
            bands[f.key] = flat_sigma(bands[f.key], a.flat_sigma, step)
    if a.two_origin:
        for f in corpus.files:
            bands[f.key]["y"] = f.value[bands[f.key]["keep"]]
            bands[f.key] = two_origin(bands[f.key], a.two_origin)
    if a.attribute:
        attribute(corpus, bands, SHIPPED)
        return
    global PARAMS
    PARAMS = SHIPPED
    with patched(flags_mod, "residual_scores", rank_scores):
        twin = {f.key: nab_cv.run_file(f, bands[f.key], 95.0)[0] for f in corpus.files}
    real = {f.key: nab_cv.run_file(f, bands[f.key], 95.0)[0] for f in corpus.files}
    gap = max(float(np.max(np.abs(twin[k] - real[k]))) for k in real)
    print(f"twin (SHIPPED) vs the shipped scorer: max |Δscore| = {gap:.3g}", flush=True)
    if a.grid:
        grid = GRIDS[a.grid]
        table = {}
        for values in itertools.product(*grid.values()):
            kw = dict(zip(grid, values, strict=True))
            table[values] = r = evaluate(corpus, bands, replace(Params(), **kw))
            print(row(str(kw), r), flush=True)
        print(f"joint LOFO over {grid}:")
        print(f"  held-out flags (standard): {nab_cv.joint_lofo(corpus, table):.2f}")
        items = {
            v: file_items(corpus, bands, replace(Params(), **dict(zip(grid, v, strict=True))))
            for v in table
        }
        print(f"  held-out ranking (standard): {held_out_ranking(corpus, items):.2f}")
        return
    head = (
        "| variant | score | score held out | flags in sample | flags held out "
        "| /1,000 | quiet /1,000 |"
    )
    print(head + "\n|---|---|---|---|---|---|---|")
    only = [s for s in a.only.split(",") if s]
    for label, kw in VARIANTS:
        if only and not any(label.startswith(o) for o in only):
            continue
        base = SHIPPED if a.base == "shipped" else Params()
        params = replace(base, **kw)
        r = evaluate(corpus, bands, params)
        with contextlib.redirect_stdout(io.StringIO()):
            held = held_out_ranking(corpus, {"v": file_items(corpus, bands, params)})
        print(row(label, r, held), flush=True)


def two_origin(b: dict[str, np.ndarray], how: str) -> dict[str, np.ndarray]:
    """Bands from ``nab_two_origin.py`` combined into one (a pure band transform)."""
    m1, lo1, hi1 = b["mean"], b["lo"], b["hi"]
    m2, lo2, hi2 = b["mean2"], b["lo2"], b["hi2"]
    has2 = np.isfinite(m2) & np.isfinite(lo2) & np.isfinite(hi2)
    m2, lo2, hi2 = np.where(has2, m2, m1), np.where(has2, lo2, lo1), np.where(has2, hi2, hi1)
    out = dict(b)
    if how == "older":
        out["mean"], out["lo"], out["hi"] = m2, lo2, hi2
        return out
    if how == "mean":
        out["mean"], out["lo"], out["hi"] = (m1 + m2) / 2, (lo1 + lo2) / 2, (hi1 + hi2) / 2
        return out
    if how == "wide":  # latest mean, the wider of the two widths
        half = np.maximum(hi1 - lo1, hi2 - lo2) / 2
        out["lo"], out["hi"] = m1 - half, m1 + half
        return out
    y = b["y"]
    with np.errstate(all="ignore"):
        z1 = np.abs(y - m1) / (hi1 - lo1)
        z2 = np.abs(y - m2) / (hi2 - lo2)
    pick2 = (z2 < z1) if how == "min" else (z2 > z1)
    out["mean"], out["lo"], out["hi"] = (
        np.where(pick2, m2, m1),
        np.where(pick2, lo2, lo1),
        np.where(pick2, hi2, hi1),
    )
    return out


def ref_mean(b: dict[str, np.ndarray], how: str) -> dict[str, np.ndarray]:
    """The band re-centred on the seasonal reference (``ref``: the seasonal median
    1–3 seasons back) or on the mean of it and the forecast; the width kept."""
    out = dict(b)
    m, ref = b["mean"], b["ref"]
    new = np.where(np.isfinite(ref), ref if how == "ref" else (ref + m) / 2, m)
    out["mean"], out["lo"], out["hi"] = new, b["lo"] - m + new, b["hi"] - m + new
    return out


def flat_sigma(b: dict[str, np.ndarray], how: str, step_ms: int) -> dict[str, np.ndarray]:
    """The band's width made constant over each refit's chunk (errors that do not grow
    with forecast lead): the chunk's median or first-lead width."""
    from tsad.detect.online import refit_horizon

    out = dict(b)
    m, lo, hi = b["mean"], b["lo"], b["hi"]
    half = (hi - lo) / 2
    ok = np.flatnonzero(np.isfinite(half))
    if not ok.shape[0]:
        return out
    h = refit_horizon(step_ms)
    new = half.copy()
    for start in range(int(ok[0]), m.shape[0], h):
        seg = half[start : start + h]
        good = seg[np.isfinite(seg)]
        if good.shape[0]:
            new[start : start + h] = np.median(good) if how == "median" else good[0]
    new = np.where(np.isfinite(half), new, np.nan)
    out["lo"], out["hi"] = m - new, m + new
    return out


GRIDS: dict[str, dict[str, list[Any]]] = {
    "offset": {"off_residual": [0.0, -0.25, -0.5, -1.0]},
    "margin": {"refire_from": [0.5], "refire_margin": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]},
    "margin2": {"refire_from": [0.5], "refire_margin": [0.5, 1.5, 2.5, 3.5, 4.5]},
    "hl": {
        "refire_from": [0.5],
        "refire_margin": [3.0],
        "hl_burst": [0, 600.0, 1200.0],
        "hl_z": [0, 600.0, 1200.0],
    },
    "hls": {"refire_from": [0.5], "refire_margin": [3.0], "hl_seasonal": [150.0, 0, 600.0, 1200.0]},
    "step": {
        "refire_from": [0.5],
        "refire_margin": [3.0],
        "step": ["", "seasonal"],
        "step_bonus": [-1.0, -0.75, -0.5, -0.25],
    },
    "floor-hl": {
        "refire_from": [0.5],
        "refire_margin": [3.0],
        "record_floor": [1.0, 1.25, 1.5],
        "hl_z": [0, 600.0],
    },
    "refire": {"refire_from": [0.3, 0.5, 0.7, 1.0], "refire_margin": [0.0, 1.0, 2.0, 3.0]},
}


if __name__ == "__main__":
    main()
