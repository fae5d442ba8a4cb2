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
The offset relaxes towards 0 with a half-life of ``HALF_LIFE`` sampling steps
(measured from the label, on the wall clock). Constants: chosen by
leave-one-folder-out CV on NAB (``tsad bench feedback``; benchmarks/README.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsad.detect.threshold import LOG_ODDS_PER_STEP
from tsad.series import Scored, Series, unscored

#: log-odds above a false positive's peak the threshold is raised to
MARGIN = 0.01
#: log-odds a missed window lowers the threshold by
MISS_STEP = 0.25
#: bounds of the offset (log-odds)
MAX_RAISE = 4.0
MAX_LOWER = 0.2
#: sampling steps after which the offset has relaxed half way back to 0 (inf: never):
#: a false positive silences its kind of surprise for a while, not for ever
HALF_LIFE = 150.0
#: expected ranges kept per series (the newest)
MAX_EXPECTED = 100


@dataclass(frozen=True)
class Adaptation:
    """What one series' feedback does now (kept in ``state['meta']['feedback']``)."""

    offset: float = 0.0
    expected: tuple[tuple[int, int], ...] = ()
    count: int = 0
    set_at: int = 0  # wall-clock ms of the label that last set the offset
    half_life: float = HALF_LIFE

    def to_meta(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "expected": [list(r) for r in self.expected],
            "count": self.count,
            "set_at": self.set_at,
            "half_life": self.half_life if math.isfinite(self.half_life) else None,
        }

    def current(self, now_ms: float, step_ms: int) -> float:
        """The offset now: relaxed since it was set, by sampling steps of the series."""
        steps = (now_ms - self.set_at) / max(step_ms, 1)
        return relaxed(self.offset, steps, self.half_life)

    @classmethod
    def from_meta(cls, raw: dict[str, Any] | None) -> Adaptation:
        if not raw:
            return cls()
        hl = raw.get("half_life")
        return cls(
            float(raw.get("offset", 0.0)),
            tuple((int(a), int(b)) for a, b in raw.get("expected", ())),
            int(raw.get("count", 0)),
            int(raw.get("set_at", 0)),
            math.inf if hl is None else float(hl),
        )


def logit(score: float) -> float:
    """The log-odds of a score in (0, 1)."""
    s = min(max(score, 1e-300), 1.0 - 1e-16)
    return math.log(s) - math.log1p(-s)


@dataclass(frozen=True)
class AdaptConstants:
    """The adaptation's constants (the defaults are the module's, chosen by CV)."""

    margin: float = MARGIN
    miss_step: float = MISS_STEP
    max_raise: float = MAX_RAISE
    max_lower: float = MAX_LOWER
    half_life: float = HALF_LIFE


def relaxed(offset: float, steps: float, half_life: float) -> float:
    """The offset ``steps`` sampling steps after it was set."""
    if not math.isfinite(half_life) or steps <= 0:
        return offset
    return float(offset * math.pow(2.0, -steps / half_life))


def step(
    offset: float, label: str, peak: float | None, base_log_odds: float, c: AdaptConstants
) -> float:
    """The offset after one label (``peak``: the labelled flags' peak log-odds)."""
    if label == "false_positive" and peak is not None:
        offset = max(offset, peak + c.margin - base_log_odds)
    elif label == "true_positive" and peak is not None:
        offset = min(offset, peak - c.margin - base_log_odds)
    elif label == "missed":
        offset -= c.miss_step
    return min(max(offset, -c.max_lower), c.max_raise)


def adapt(
    records: Sequence[dict[str, Any]],
    base_log_odds: float,
    constants: AdaptConstants | None = None,
    *,
    step_ms: int = 60_000,
) -> Adaptation:
    """Fold a series' records (oldest first) into its adaptation, at a base threshold
    of ``base_log_odds``."""
    c = constants or AdaptConstants()
    offset, set_at = 0.0, 0
    expected: list[tuple[int, int]] = []
    for r in sorted(records, key=lambda r: int(r.get("created", 0))):
        if not r.get("adapts", True):
            continue
        if r["label"] == "expected":
            expected.append((int(r["start"]), int(r["end"])))
            continue
        peak = r.get("peak_log_odds")
        now = int(r.get("created", 0))
        before = relaxed(offset, (now - set_at) / max(step_ms, 1), c.half_life)
        offset = step(before, r["label"], None if peak is None else float(peak), base_log_odds, c)
        set_at = now
    return Adaptation(offset, tuple(expected[-MAX_EXPECTED:]), len(records), set_at, c.half_life)


def adapted_sensitivity(
    sensitivity: float, adaptation: Adaptation, now_ms: float, step_ms: int
) -> float:
    """The sensitivity whose threshold is the base one moved by the offset (as relaxed
    by ``now_ms``)."""
    if adaptation.offset == 0.0:
        return sensitivity
    shifted = sensitivity - adaptation.current(now_ms, step_ms) / LOG_ODDS_PER_STEP
    return min(max(shifted, 0.0), 99.9)


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
