"""SKAB's metrics, written from its README and evaluation notes (not its code).

* Outliers, as binary classification pooled over files: ``F1 = TP / (TP + (FP + FN) / 2)``,
  ``FAR = FP / (FP + TN)`` and ``MAR = FN / (FN + TP)`` in percent.
* Change points, NAB-style: each labelled change point opens a detection window
  of ``window_s`` seconds to its right (a window is cut where the next one starts);
  the first predicted change point inside a window earns
  ``A_fp + (A_tp − A_fp) · (1 − tanh(x) / tanh(π/2)) / 2`` for ``x`` running from
  −π/2 at the window's start to π/2 at its end (early detection pays most),
  later predictions inside it count nothing, every prediction outside all windows
  costs ``A_fp`` and a window with none costs ``A_fn``; the sum over files is
  normalised to 0 (the null detector) … 100 (the perfect one) per profile.
* A detector's change points are the edges of its flags: ``|Δ flag|``, the first
  row counting as its flag.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tsad.series import BoolArray, IntArray

#: (A_tp, A_fp, A_fn) per NAB profile, as SKAB weights them
PROFILES: dict[str, tuple[float, float, float]] = {
    "standard": (1.0, -0.11, -1.0),
    "low_fp": (1.0, -0.22, -1.0),
    "low_fn": (1.0, -0.11, -2.0),
}
WINDOW_S = 60


@dataclass(frozen=True)
class Binary:
    f1: float
    far: float
    mar: float


def binary_metrics(truth: Sequence[BoolArray], pred: Sequence[BoolArray]) -> Binary:
    """Pooled F1, FAR %, MAR % over files."""
    tp = fp = fn = tn = 0
    for t, p in zip(truth, pred, strict=True):
        tp += int((t & p).sum())
        fp += int((~t & p).sum())
        fn += int((t & ~p).sum())
        tn += int((~t & ~p).sum())
    f1 = tp / (tp + (fp + fn) / 2) if tp + fp + fn else 0.0
    far = 100.0 * fp / (fp + tn) if fp + tn else 0.0
    mar = 100.0 * fn / (fn + tp) if fn + tp else 0.0
    return Binary(f1, far, mar)


def edges(flags: BoolArray) -> BoolArray:
    """Predicted change points of a flag series: where it switches (row 0: its flag)."""
    f = flags.astype(np.int8)
    out = np.zeros(f.shape[0], dtype=bool)
    if f.shape[0]:
        out[0] = bool(f[0])
        out[1:] = np.diff(f) != 0
    return out


def _windows(ts_s: IntArray, cp: BoolArray, width: int) -> list[tuple[int, int]]:
    starts = ts_s[cp]
    wins = [[int(s), int(s) + width] for s in starts]
    for i in range(len(wins) - 1):  # overlapping windows: the right one is cut
        if wins[i][1] >= wins[i + 1][0]:
            wins[i + 1][0] = wins[i][1]
    return [(a, b) for a, b in wins]


def _tp_value(pos: float, a_tp: float, a_fp: float) -> float:
    x = -math.pi / 2 + math.pi * min(max(pos, 0.0), 1.0)
    return a_fp + (a_tp - a_fp) * (1.0 - math.tanh(x) / math.tanh(math.pi / 2)) / 2.0


@dataclass(frozen=True)
class NabCounts:
    scores: dict[str, float]
    missed: int
    false_positives: int


def nab_scores(
    ts_s: Sequence[IntArray],
    true_cp: Sequence[BoolArray],
    pred_cp: Sequence[BoolArray],
    window_s: int = WINDOW_S,
) -> NabCounts:
    """NAB standard / low FP / low FN over files (timestamps in seconds)."""
    raw = {p: [0.0, 0.0, 0.0] for p in PROFILES}  # score, null, perfect
    missed = fps = 0
    for ts, cp, pr in zip(ts_s, true_cp, pred_cp, strict=True):
        wins = _windows(ts, cp, window_s)
        pts = ts[pr]
        inside = np.zeros(pts.shape[0], dtype=bool)
        firsts: list[float | None] = []
        for a, b in wins:
            hit = (pts >= a) & (pts <= b)
            inside |= hit
            firsts.append((float(pts[hit][0]) - a) / max(b - a, 1) if hit.any() else None)
        n_fp = int((~inside).sum())
        n_fn = sum(1 for f in firsts if f is None)
        missed += n_fn
        fps += n_fp
        for name, (a_tp, a_fp, a_fn) in PROFILES.items():
            r = raw[name]
            r[0] += a_fp * n_fp + a_fn * n_fn
            r[0] += sum(_tp_value(f, a_tp, a_fp) for f in firsts if f is not None)
            r[1] += a_fn * len(wins)
            r[2] += a_tp * len(wins)
    scores = {
        name: 100.0 * (s - null) / (perfect - null) if perfect != null else 0.0
        for name, (s, null, perfect) in raw.items()
    }
    return NabCounts(scores, missed, fps)
