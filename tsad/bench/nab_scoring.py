"""The project's own implementation of NAB's scoring rules (NAB v1.1).

Written from NAB's published rules, not from its code:

* the first ``min(floor(15% of rows), 750)`` rows of a file are a probation
  period: never scored, neither as detections nor as misses;
* a detection is a row whose ``anomaly_score`` is ≥ one global threshold;
* inside an anomaly window only the earliest detection counts, weighted by the
  scaled sigmoid of its relative position (``-1`` at the window's left edge →
  ``tp`` weight, falling towards 0 at the right edge);
* a window with no detection costs ``-fn``;
* a detection outside every window costs ``fp`` times the scaled sigmoid of how
  far it lies past the previous window's right edge (in that window's widths),
  or the full ``-fp`` before the first window;
* the threshold is chosen per profile to maximise the corpus total, and the
  total is normalised so the null detector scores 0 and a perfect one 100.

NAB finds the threshold with a hill climb from 0.5; here every distinct score
in the corpus is tried (an exact sweep), which can only find an equal or higher
optimum.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsad.series import BoolArray, FloatArray, IntArray

PROBATION_PERCENT = 0.15
# a detection this many window widths past a window is a full false positive
_FAR_PAST = 3.0


@dataclass(frozen=True)
class CostMatrix:
    """One scoring profile's weights."""

    tp: float
    fp: float
    fn: float


PROFILES: dict[str, CostMatrix] = {
    "standard": CostMatrix(tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP_rate": CostMatrix(tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN_rate": CostMatrix(tp=1.0, fp=0.11, fn=2.0),
}


def load_profiles(path: Path) -> dict[str, CostMatrix]:
    """Read NAB's ``config/profiles.json`` (``{name: {"CostMatrix": {...}}}``)."""
    raw = json.loads(path.read_text())
    return {
        name: CostMatrix(
            tp=float(p["CostMatrix"]["tpWeight"]),
            fp=float(p["CostMatrix"]["fpWeight"]),
            fn=float(p["CostMatrix"]["fnWeight"]),
        )
        for name, p in raw.items()
    }


def probation_length(n_rows: int, percent: float = PROBATION_PERCENT) -> int:
    """Rows at the start of a file that are never scored."""
    return int(min(math.floor(percent * n_rows), percent * 5000))


def scaled_sigmoid(position: FloatArray) -> FloatArray:
    """NAB's weighting: 2·sigmoid(-5·x) - 1, and exactly -1 from x ≥ 3 on.

    ``x = -1`` is a window's left edge (≈ 0.98661), ``0`` its right edge (0).
    """
    with np.errstate(over="ignore"):
        s = 2.0 / (1.0 + np.exp(5.0 * position)) - 1.0
    return np.where(position >= _FAR_PAST, -1.0, s)


_MAX_TP = float(scaled_sigmoid(np.array([-1.0]))[0])


@dataclass(frozen=True)
class FileRows:
    """One file's rows as the scorer sees them.

    ``weight``: what a detection on that row is worth (positive in a window,
    negative outside). ``window``: index of the window holding the row, or -1.
    ``scorable``: False on probation rows.
    """

    weight: FloatArray
    window: IntArray
    scorable: BoolArray

    @property
    def windows(self) -> list[int]:
        """Windows with at least one scorable row (those that can be missed)."""
        return sorted(set(self.window[self.scorable & (self.window >= 0)].tolist()))


def row_weights(
    n_rows: int,
    windows: Sequence[tuple[int, int]],
    cost: CostMatrix,
    probation_percent: float = PROBATION_PERCENT,
) -> FileRows:
    """Per-row detection weights for a file of ``n_rows`` with windows given as
    inclusive ``(first_row, last_row)`` index pairs, in time order."""
    weight = np.empty(n_rows, np.float64)
    window = np.full(n_rows, -1, np.int64)
    idx = np.arange(n_rows, dtype=np.float64)
    cursor = 0
    prev_right: int | None = None
    prev_width = 0.0
    for w, (left, right) in enumerate(windows):
        _fill_outside(weight, idx, cursor, left, prev_right, prev_width, cost)
        width = float(right - left + 1)
        position = -(right - idx[left : right + 1] + 1.0) / width
        weight[left : right + 1] = scaled_sigmoid(position) * cost.tp / _MAX_TP
        window[left : right + 1] = w
        cursor, prev_right, prev_width = right + 1, right, width
    _fill_outside(weight, idx, cursor, n_rows, prev_right, prev_width, cost)
    scorable = np.arange(n_rows) >= probation_length(n_rows, probation_percent)
    return FileRows(weight, window, scorable)


def _fill_outside(
    weight: FloatArray,
    idx: FloatArray,
    start: int,
    stop: int,
    prev_right: int | None,
    prev_width: float,
    cost: CostMatrix,
) -> None:
    if stop <= start:
        return
    if prev_right is None:
        weight[start:stop] = -cost.fp
        return
    # NAB measures the distance in (width - 1) rows; a one-row window would divide by 0
    position = np.abs(idx[start:stop] - prev_right) / max(prev_width - 1.0, 1.0)
    weight[start:stop] = scaled_sigmoid(position) * cost.fp


@dataclass(frozen=True)
class FileScore:
    """One file at one threshold."""

    score: float
    tp: int  # windows detected
    fn: int  # windows missed
    fp: int  # detections outside windows (scorable rows only)
    detections: IntArray  # row indices of detections that count (earliest per window + FPs)


def score_file(
    rows: FileRows, anomaly: FloatArray, threshold: float, cost: CostMatrix
) -> FileScore:
    """Score one file's anomaly scores at ``threshold``."""
    hit = rows.scorable & (anomaly >= threshold)
    outside = hit & (rows.window < 0)
    total = float(rows.weight[outside].sum())
    counted: list[int] = np.flatnonzero(outside).tolist()
    tp = fn = 0
    for w in rows.windows:
        in_w = np.flatnonzero(hit & (rows.window == w))
        if in_w.shape[0]:
            # weights fall through a window, so the earliest detection is the best one
            total += float(rows.weight[in_w[0]])
            counted.append(int(in_w[0]))
            tp += 1
        else:
            total -= cost.fn
            fn += 1
    return FileScore(total, tp, fn, int(outside.sum()), np.array(sorted(counted), np.int64))


@dataclass(frozen=True)
class Sweep:
    """Corpus total for each candidate threshold (descending thresholds)."""

    thresholds: FloatArray
    totals: FloatArray

    def best(self) -> tuple[float, float]:
        """(threshold, total) of the optimum; ties go to the highest threshold."""
        i = int(np.argmax(self.totals))  # first max = highest threshold
        return float(self.thresholds[i]), float(self.totals[i])


def sweep_thresholds(files: Sequence[tuple[FileRows, FloatArray]], cost: CostMatrix) -> Sweep:
    """Exact corpus total at every distinct anomaly score (plus 'no detections')."""
    scores: list[FloatArray] = []
    weights: list[FloatArray] = []
    groups: list[IntArray] = []
    base = 0.0
    offset = 0
    for rows, anomaly in files:
        keep = rows.scorable
        base -= cost.fn * len(rows.windows)
        scores.append(anomaly[keep])
        weights.append(rows.weight[keep])
        g = rows.window[keep]
        groups.append(np.where(g >= 0, g + offset, -1))
        offset += int(rows.window.max(initial=-1)) + 1
    s = np.concatenate(scores) if scores else np.empty(0)
    wt = np.concatenate(weights) if weights else np.empty(0)
    grp = np.concatenate(groups) if groups else np.empty(0, np.int64)
    order = np.argsort(-s, kind="stable")
    s, wt, grp = s[order], wt[order], grp[order]
    delta = np.where(grp < 0, wt, 0.0)
    in_win = np.flatnonzero(grp >= 0)
    if in_win.shape[0]:
        # a window's value is its best detection so far (floored at the miss cost);
        # each row adds the improvement it brings to its window's running best
        g_sorted = np.argsort(grp[in_win], kind="stable")
        rows_i = in_win[g_sorted]
        g = grp[rows_i]
        vals = np.maximum(wt[rows_i], -cost.fn)
        starts = np.r_[True, g[1:] != g[:-1]]
        run = _group_cummax(vals, starts)
        prev = np.where(starts, -cost.fn, np.r_[-cost.fn, run[:-1]])
        delta[rows_i] = run - prev
    totals = base + np.cumsum(delta)
    # a threshold t keeps every row scoring >= t: evaluate at the end of each tie group
    last_of_tie = np.r_[s[1:] != s[:-1], True] if s.shape[0] else np.empty(0, bool)
    thresholds = np.r_[np.inf, s[last_of_tie]]
    return Sweep(thresholds, np.r_[base, totals[last_of_tie]])


def _group_cummax(values: FloatArray, starts: BoolArray) -> FloatArray:
    """Running maximum restarting wherever ``starts`` is True."""
    out = values.copy()
    for i in range(1, out.shape[0]):
        if not starts[i] and out[i - 1] > out[i]:
            out[i] = out[i - 1]
    return out


@dataclass(frozen=True)
class ProfileResult:
    """A detector's corpus result under one profile."""

    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float
    per_file: dict[str, FileScore]

    @property
    def normalised(self) -> float:
        """100·(raw − null)/(perfect − null): null detector 0, perfect 100."""
        span = self.perfect - self.null
        return 100.0 * (self.raw - self.null) / span if span else 0.0


def score_corpus(
    files: Mapping[str, tuple[FileRows, FloatArray]],
    cost: CostMatrix,
    profile: str,
    n_windows: int,
) -> ProfileResult:
    """Optimise one threshold over the corpus and score every file with it.

    ``n_windows`` is the number of windows in the label file (NAB's perfect
    detector earns ``tp`` for each); the null baseline is NAB's null detector (a
    constant 0.5 score) under the same optimised-threshold rule.
    """
    items = list(files.values())
    threshold, raw = sweep_thresholds(items, cost).best()
    null_items = [(rows, np.full(a.shape[0], 0.5)) for rows, a in items]
    _, null = sweep_thresholds(null_items, cost).best()
    per_file = {name: score_file(rows, a, threshold, cost) for name, (rows, a) in files.items()}
    return ProfileResult(profile, threshold, raw, null, n_windows * cost.tp, per_file)


def score_fixed(
    files: Mapping[str, tuple[FileRows, FloatArray]],
    cost: CostMatrix,
    profile: str,
    n_windows: int,
    threshold: float,
) -> ProfileResult:
    """Score every file at one given threshold (a detector's own flags: no optimising),
    normalised like ``score_corpus``; it can fall below 0 (worse than never alerting)."""
    items = list(files.values())
    null_items = [(rows, np.full(a.shape[0], 0.5)) for rows, a in items]
    _, null = sweep_thresholds(null_items, cost).best()
    per_file = {name: score_file(rows, a, threshold, cost) for name, (rows, a) in files.items()}
    raw = sum(fs.score for fs in per_file.values())
    return ProfileResult(profile, threshold, raw, null, n_windows * cost.tp, per_file)
