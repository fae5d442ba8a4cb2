"""Per-series adaptation to feedback: a threshold offset and expected ranges.

The flag threshold is a log-odds of surprise (``tsad.detect.threshold``). Feedback
moves one series' threshold by an *offset* in the same units:

* ``false_positive`` raises it to just above the most surprising flag in the range
  (``peak + MARGIN``): a point as surprising, in the same series, no longer fires;
* ``true_positive`` caps it just below the labelled peak: a confirmed kind of alert
  keeps firing whatever false positives came before;
* ``missed`` lowers it by ``MISS_STEP`` (the points were not flagged, so there is
  no surprise to aim at);
* ``expected`` adds the range to the series' expected ranges: points in them are
  not scored on arrival (no flag, and the series' scorer does not learn them, so
  a maintenance does not blind it afterwards) and never teach a fit.

The offset stays within [-``MAX_LOWER``, ``MAX_RAISE``]. It is a pure fold over the
series' records in the order they were made, so deleting a record or a reset
(records kept for the ranker, marked ``adapts: false``) simply replays.
Constants: leave-one-folder-out CV on NAB (``tsad bench feedback --cv``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsad.detect.threshold import LOG_ODDS_PER_STEP, threshold_log_odds
from tsad.series import Scored, Series, unscored

#: log-odds above a false positive's peak the threshold is raised to
MARGIN = 0.05
#: log-odds a missed window lowers the threshold by
MISS_STEP = 0.25
#: bounds of the offset (log-odds)
MAX_RAISE = 4.0
MAX_LOWER = 0.45
#: expected ranges kept per series (the newest)
MAX_EXPECTED = 100


@dataclass(frozen=True)
class Adaptation:
    """What one series' feedback does now (kept in ``state['meta']['feedback']``)."""

    offset: float = 0.0
    expected: tuple[tuple[int, int], ...] = ()
    count: int = 0

    def to_meta(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "expected": [list(r) for r in self.expected],
            "count": self.count,
        }

    @classmethod
    def from_meta(cls, raw: dict[str, Any] | None) -> Adaptation:
        if not raw:
            return cls()
        return cls(
            float(raw.get("offset", 0.0)),
            tuple((int(a), int(b)) for a, b in raw.get("expected", ())),
            int(raw.get("count", 0)),
        )


def logit(score: float) -> float:
    """The log-odds of a score in (0, 1)."""
    s = min(max(score, 1e-300), 1.0 - 1e-16)
    return math.log(s) - math.log1p(-s)


def adapt(
    records: Sequence[dict[str, Any]],
    base_log_odds: float,
    *,
    margin: float = MARGIN,
    miss_step: float = MISS_STEP,
    max_raise: float = MAX_RAISE,
    max_lower: float = MAX_LOWER,
) -> Adaptation:
    """Fold a series' records (oldest first) into its adaptation, at a base threshold
    of ``base_log_odds``."""
    offset = 0.0
    expected: list[tuple[int, int]] = []
    for r in sorted(records, key=lambda r: int(r.get("created", 0))):
        if not r.get("adapts", True):
            continue
        label, peak = r["label"], r.get("peak_log_odds")
        if label == "false_positive" and peak is not None:
            offset = max(offset, float(peak) + margin - base_log_odds)
        elif label == "true_positive" and peak is not None:
            offset = min(offset, float(peak) - margin - base_log_odds)
        elif label == "missed":
            offset -= miss_step
        elif label == "expected":
            expected.append((int(r["start"]), int(r["end"])))
        offset = min(max(offset, -max_lower), max_raise)
    return Adaptation(offset, tuple(expected[-MAX_EXPECTED:]), len(records))


def adapted_sensitivity(sensitivity: float, adaptation: Adaptation) -> float:
    """The sensitivity whose threshold is the base one moved by the offset."""
    if adaptation.offset == 0.0:
        return sensitivity
    shifted = sensitivity - adaptation.offset / LOG_ODDS_PER_STEP
    return min(max(shifted, 0.0), 99.9)


def base_log_odds(sensitivity: float) -> float:
    return threshold_log_odds(sensitivity)


def in_ranges(ts: np.ndarray, ranges: Sequence[tuple[int, int]]) -> np.ndarray:
    """Which timestamps fall in any of the inclusive ranges."""
    hit = np.zeros(ts.shape[0], bool)
    for a, b in ranges:
        hit |= (ts >= a) & (ts <= b)
    return hit


def outside_expected(ts: np.ndarray, ranges: Sequence[tuple[int, int]]) -> np.ndarray:
    """Which arrivals the hot path scores: those outside every expected range (the
    others neither raise a flag nor teach the series' scorer)."""
    return ~in_ranges(ts, ranges) if ranges else np.ones(ts.shape[0], bool)


def with_unscored(scored: Scored, ts: np.ndarray, y: np.ndarray, keep: np.ndarray) -> Scored:
    """All arrivals: the scored ones (``keep``) as scored, the rest unscored (NaN band,
    score 0, never flagged), in arrival order."""
    if keep.all():
        return scored
    full = unscored(ts, y)
    for name in ("expected", "lo", "hi", "is_anomaly", "direction", "score", "severity"):
        getattr(full, name)[keep] = getattr(scored, name)
    return full


def drop_expected(window: Series, ranges: Sequence[tuple[int, int]]) -> Series:
    """The window without its points in expected ranges (they must not teach a fit)."""
    if not ranges or len(window) == 0:
        return window
    keep = ~in_ranges(window.ts, ranges)
    return window if keep.all() else Series(window.ts[keep], window.y[keep])
