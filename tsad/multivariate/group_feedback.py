"""Operator feedback on a group, the same as on one series: the same records
(``tsad.feedback.records``: a label on a point or a range, bounded, deleted by id)
and the same adaptation (``tsad.feedback.adapt``): a false positive raises the
group's threshold, a true positive or a miss lowers it (relaxing over the group's
sampling steps), and an ``expected`` range is never flagged. The records live in
the group's stored document (``Buffer.put_group``), so they survive a restart with it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from tsad.detect.threshold import threshold_log_odds
from tsad.errors import FeedbackNotFound
from tsad.feedback.adapt import Adaptation, adapt, adapted_sensitivity, in_ranges
from tsad.feedback.records import FeedbackInput, new_record
from tsad.series import BoolArray, IntArray

#: labels whose record keeps the surprise of the flag it names (the adaptation reads it)
ALERT_LABELS = ("false_positive", "true_positive")


def peak_log_odds(anomalies: Iterable[dict[str, Any]], start: int, end: int) -> float | None:
    """The log-odds of the most surprising flagged row of the group in [start, end]."""
    scores = [float(a["score"]) for a in anomalies if start <= int(a["ts"]) <= end]
    if not scores:
        return None
    s = min(max(max(scores), 1e-12), 1.0 - 1e-12)
    return math.log(s / (1.0 - s))


def flagged_rows(ts: IntArray, score: Any, is_anomaly: BoolArray) -> list[dict[str, Any]]:
    """A scored run's flagged rows as ``{ts, score}`` (what ``peak_log_odds`` reads)."""
    idx = np.flatnonzero(is_anomaly)
    return [{"ts": int(ts[i]), "score": float(score[i])} for i in idx.tolist()]


def group_record(
    item: FeedbackInput, peak: float | None, now_ms: int | None = None
) -> dict[str, Any]:
    """A stored record for a checked label on a group (``features``: none, the ranker
    is per series); ``peak``: the labelled flags' peak log-odds, for alert labels."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    keep = peak if item.label in ALERT_LABELS else None
    return new_record(item, now, peak_log_odds=keep, features=None)


def without(records: list[dict[str, Any]], feedback_id: str, group: str) -> list[dict[str, Any]]:
    """``records`` less the one with ``feedback_id`` (FeedbackNotFound if none has it)."""
    kept = [r for r in records if r["id"] != feedback_id]
    if len(kept) == len(records):
        raise FeedbackNotFound(f"group {group!r} has no feedback {feedback_id!r}")
    return kept


def adaptation(records: list[dict[str, Any]], sensitivity: float, step_ms: int) -> Adaptation:
    """What the group's records do now, at its configured sensitivity."""
    return adapt(records, threshold_log_odds(sensitivity), step_ms=step_ms)


def sensitivity_now(
    a: Adaptation, sensitivity: float, step_ms: int, now_ms: float | None = None
) -> float:
    now = time.time() * 1000 if now_ms is None else now_ms
    return adapted_sensitivity(sensitivity, a, now, step_ms)


def expected_rows(a: Adaptation, ts: IntArray) -> BoolArray:
    """Rows inside an ``expected`` range (never flagged)."""
    if not a.expected:
        return np.zeros(ts.shape[0], dtype=bool)
    out: BoolArray = in_ranges(ts, a.expected)
    return out
