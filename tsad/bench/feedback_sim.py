"""A simulated analyst on one NAB file: the flags tsad raises with feedback, and the
alerts it would have sent, against the same file's flags without feedback.

The file's scores are computed once (the online replay; a score never depends on
the threshold), so the run with feedback and the run without share every score and
differ only in the threshold. Replayed in row order: a flag opens an incident (one
alert, ``GAP_STEPS`` rows of quiet close it); ``delay`` rows after it closes, the
analyst labels it ``true_positive`` if one of its flags lies in a NAB window, else
``false_positive``; ``delay`` rows after a window ends with no flag in it, the
analyst marks it ``missed``. Each label moves the threshold by ``adapt.step``, the
same rule the service applies.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tsad.detect.incidents import GAP_STEPS
from tsad.feedback.adapt import (
    MAX_SIGNATURES,
    AdaptConstants,
    Signature,
    context_raise,
    minute_of_day,
    relaxed,
    resembles,
    step,
)
from tsad.feedback.features import AlertContext, alert_features
from tsad.series import BoolArray, FloatArray, IntArray

#: rows between an incident closing (or a window ending) and the analyst's label
DELAY = 12


@dataclass
class SimAlert:
    """One alert of the run with feedback: where it starts, what it looked like, its truth."""

    row: int
    score: float
    features: dict[str, float]
    true: bool
    labelled_row: int | None = None


@dataclass
class SimResult:
    """One file: flags with feedback, the row of its first label, and its alerts."""

    flags: BoolArray
    first_label_row: int | None
    alerts: list[SimAlert] = field(default_factory=list)
    labels: int = 0


def _logit(score: FloatArray) -> FloatArray:
    s = np.clip(score, 1e-300, 1.0 - 1e-16)
    out: FloatArray = np.log(s) - np.log1p(-s)
    return out


def simulate(
    ts: IntArray,
    score: FloatArray,
    severity: FloatArray,
    side: FloatArray,
    windows: Sequence[tuple[int, int]],
    base_log_odds: float,
    constants: AdaptConstants,
    *,
    step_ms: int,
    delay: int = DELAY,
    feedback: bool = True,
    value: FloatArray | None = None,
    spread: FloatArray | None = None,
) -> SimResult:
    """Replay one file's scores with the analyst's labels feeding the threshold back
    (``feedback=False``: the same replay, labels recorded but never applied)."""
    n = score.shape[0]
    lo = _logit(score)
    in_window = np.full(n, -1, np.int64)
    for w, (a, b) in enumerate(windows):
        in_window[a : b + 1] = w
    # rows that may flag at some threshold the bounds allow (all others never do)
    candidates = np.flatnonzero(lo >= base_log_odds - constants.max_lower).tolist()
    flags = np.zeros(n, bool)
    offset, offset_row = 0.0, 0
    # (due, seq, label, peak, rows of the labelled incident)
    labels_heap: list[tuple[int, int, str, float | None, list[int]]] = []
    val = value if value is not None else np.zeros(n)
    sp = spread if spread is not None else np.zeros(n)
    minute = minute_of_day(ts)
    sigs: list[Signature] = []
    seq = 0
    for a, b in windows:
        heapq.heappush(labels_heap, (b + delay, seq, f"window:{a}:{b}", None, []))
        seq += 1
    alerts: list[SimAlert] = []
    starts: list[int] = []
    ends: list[int] = []
    prior: list[str] = []
    first_label: int | None = None
    run: list[int] = []  # rows of the open incident

    def close_run() -> None:
        nonlocal seq
        true = bool((in_window[run] >= 0).any())
        peak = float(lo[run].max())
        heapq.heappush(
            labels_heap,
            (
                run[-1] + GAP_STEPS + delay,
                seq,
                "true_positive" if true else "false_positive",
                peak,
                list(run),
            ),
        )
        seq += 1
        alerts[-1].true = true
        starts.append(int(ts[run[0]]))
        ends.append(int(ts[run[-1]]))

    def learn_context(label: str, rows: list[int], due: int) -> None:
        if not rows:
            return
        first = rows[0]
        if label == "false_positive":
            d = int(side[rows[int(np.argmax(lo[rows]))]]) or 1
            same = [r for r in rows if int(side[r]) == d] or rows
            sigs.append(
                Signature(
                    d,
                    float(max(val[r] * d for r in same) * d),
                    float(lo[rows].max()),
                    float(minute[first]),
                    float(min(val[r] * d for r in same) * d),
                    float(due),
                )
            )
            del sigs[:-MAX_SIGNATURES]
        elif label == "true_positive":
            # a confirmed alert keeps firing: drop the signatures that would silence it
            here = (int(side[first]), float(val[first]), float(sp[first]), float(minute[first]))
            sigs[:] = [g for g in sigs if not resembles(g, *here, constants)]

    def apply_labels(upto: int) -> None:
        nonlocal offset, offset_row, first_label
        while labels_heap and labels_heap[0][0] <= upto:
            due, _, label, peak, rows = heapq.heappop(labels_heap)
            if label.startswith("window:"):
                a, b = (int(x) for x in label.split(":")[1:])
                if flags[a : b + 1].any():
                    continue  # hit: the alert's own label covers it
                label = "missed"
            if feedback:
                now = relaxed(offset, due - offset_row, constants.half_life)
                offset, offset_row = step(now, label, peak, base_log_odds, constants), due
                learn_context(label, rows, due)
            prior.append(label)
            first_label = due if first_label is None else first_label

    for i in candidates:
        apply_labels(i)
        if run and i - run[-1] > GAP_STEPS:
            close_run()
            run = []
            apply_labels(i)
        current = relaxed(offset, i - offset_row, constants.half_life)
        if sigs:
            raised = context_raise(
                sigs, side[i : i + 1], val[i : i + 1], sp[i : i + 1], minute[i : i + 1],
                base_log_odds, constants, now=float(i),
            )  # fmt: skip
            current = max(current, float(raised[0]))
        if lo[i] < base_log_odds + current:
            continue
        flags[i] = True
        if not run:
            ctx = AlertContext(
                step_ms=step_ms,
                earlier_starts=starts,
                earlier_ends=ends,
                prior_labels=list(prior),
                threshold_log_odds=base_log_odds + current,
                offset=current,
                value=float(val[i]),
                spread=float(sp[i]),
                seen_low=float(np.nanmin(val[:i])) if i else math.nan,
                seen_high=float(np.nanmax(val[:i])) if i else math.nan,
                signatures=list(sigs),
            )
            feats = alert_features(
                int(ts[i]), float(score[i]), float(severity[i]), int(side[i]), ctx
            )
            alerts.append(SimAlert(i, float(score[i]), feats, False))
        run.append(i)
    if run:
        close_run()
    apply_labels(n + 10 * delay + GAP_STEPS)
    return SimResult(flags, first_label, alerts, len(prior))


def precision(alerts: Sequence[SimAlert]) -> float:
    return sum(a.true for a in alerts) / len(alerts) if alerts else math.nan


def lift_at(
    alerts: Sequence[SimAlert],
    key: Sequence[float],
    share: float = 0.2,
    then: Sequence[float] | None = None,
) -> float:
    """Precision of the top ``share`` of alerts ranked by ``key`` (ties by ``then``,
    then in order), over the precision of all."""
    if not alerts:
        return math.nan
    base = precision(alerts)
    if not base:
        return math.nan
    k = max(1, math.ceil(share * len(alerts)))
    first = -np.asarray(key, dtype=np.float64)
    second = -np.asarray(then, dtype=np.float64) if then is not None else np.zeros_like(first)
    order = np.lexsort((second, first))[:k]
    return precision([alerts[j] for j in order.tolist()]) / base
