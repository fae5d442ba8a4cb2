"""What the ranker sees of one candidate alert: its first flag (what is known when the
alert fires) and the series' context at that moment.

The same function builds the training rows (from a labelled incident) and the rows
scored in real time (from a firing alert), so the two never drift apart. An
incident's duration is not a feature: when the alert fires it is one point long,
and a feature that differs between training and scoring misleads the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tsad.feedback.adapt import AdaptConstants, Signature, logit, resembles

#: steps back over which the series' recent alert rate is counted
RATE_STEPS = 1_000

FEATURES = (
    "log_odds",
    "over_threshold",
    "severity",
    "direction",
    "hour",
    "weekday",
    "recent_alerts",
    "steps_since_last",
    "prior_false",
    "prior_true",
    "false_share",
    "offset",
    "beyond_seen",
    "beyond_fp",
    "resembles_fp",
)

#: distances in spreads are clipped to this (a flat band makes them huge)
CLIP = 20.0


@dataclass(frozen=True)
class AlertContext:
    """The series around an alert: earlier incident starts/ends (ms), labels made
    before it, its step, threshold (log-odds) and offset."""

    step_ms: int
    earlier_starts: Sequence[int]
    earlier_ends: Sequence[int]
    prior_labels: Sequence[str]
    threshold_log_odds: float
    offset: float
    # the first flag's value and its band's spread; the lowest and highest value
    # the series took before it; the false positives' signatures labelled before it
    value: float = math.nan
    spread: float = math.nan
    seen_low: float = math.nan
    seen_high: float = math.nan
    signatures: Sequence[Signature] = ()


def alert_features(
    ts: int, score: float, severity: float, direction: int, ctx: AlertContext
) -> dict[str, float]:
    """The feature row of an alert whose first flag is at ``ts``."""
    step = max(int(ctx.step_ms), 1)
    lo = ts - RATE_STEPS * step
    recent = sum(1 for s in ctx.earlier_starts if lo <= s < ts)
    last = max((e for e in ctx.earlier_ends if e < ts), default=None)
    since = math.log1p((ts - last) / step) if last is not None else math.log1p(10 * RATE_STEPS)
    fp = sum(1 for lab in ctx.prior_labels if lab == "false_positive")
    tp = sum(1 for lab in ctx.prior_labels if lab == "true_positive")
    lo_odds = logit(score)
    return {
        "log_odds": lo_odds,
        "over_threshold": lo_odds - ctx.threshold_log_odds,
        "severity": math.log1p(max(float(severity), 0.0)),
        "direction": float(direction),
        "hour": float((ts // 3_600_000) % 24),
        "weekday": float(((ts // 86_400_000) + 3) % 7),  # 1970-01-01 was a Thursday
        "recent_alerts": float(recent),
        "steps_since_last": since,
        "prior_false": float(fp),
        "prior_true": float(tp),
        "false_share": (fp + 1.0) / (fp + tp + 2.0),
        "offset": float(ctx.offset),
        **_context_features(direction, ctx, ts),
    }


def _past(value: float, extreme: float, direction: int, width: float) -> float:
    """How far ``value`` goes past ``extreme`` on its side, in band spreads."""
    if not (math.isfinite(value) and math.isfinite(extreme) and direction):
        return math.nan
    d = (value - extreme) * direction / max(width, 1e-12)
    return min(max(d, -CLIP), CLIP)


def _context_features(direction: int, ctx: AlertContext, ts: int) -> dict[str, float]:
    """Where the alert's value lies against what the series did before: past its
    extremes (``beyond_seen``), past the most extreme false positive on its side
    (``beyond_fp``), and how many false positives it resembles (``resembles_fp``)."""
    w = ctx.spread if math.isfinite(ctx.spread) and ctx.spread > 0 else 1e-12
    seen = ctx.seen_high if direction > 0 else ctx.seen_low
    side = [s.extreme for s in ctx.signatures if s.direction == direction]
    top = (max(side) if direction > 0 else min(side)) if side else math.nan
    minute = float((ts // 60_000) % 1440)
    like = sum(resembles(s, direction, ctx.value, w, minute, LIKE) for s in ctx.signatures)
    return {
        "beyond_seen": _past(ctx.value, seen, direction, w),
        "beyond_fp": _past(ctx.value, top, direction, w),
        "resembles_fp": float(like),
    }


#: what "resembles a false positive" means for the ranker's feature
LIKE = AdaptConstants(ctx_tolerance=1.0, ctx_minutes=120.0, ctx_two_sided=True)


#: the feature sets ``tsad bench feedback`` chooses among by leave-one-folder-out CV
#: (a few hundred labels do not support every feature at once). Each starts from the
#: alert's margin over its own series' threshold as feedback left it (``over_threshold``),
#: not its raw surprise: the ranker orders alerts across series, and a series whose
#: false alarms raised its threshold has shown that its surprises mean less.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "margin": ("over_threshold",),
    "margin+history": ("over_threshold", "false_share", "prior_false", "prior_true"),
    "margin+context": ("over_threshold", "beyond_seen", "beyond_fp", "resembles_fp"),
    "margin+history+context": (
        "over_threshold", "false_share", "prior_false", "prior_true",
        "beyond_seen", "beyond_fp", "resembles_fp",
    ),
    "all": FEATURES,
}  # fmt: skip
#: the set the ranker uses (chosen on every NAB folder; benchmarks/README.md)
RANKED = "margin+history"


def vector(row: dict[str, Any], names: Sequence[str] = FEATURES) -> list[float]:
    """A feature row in ``names`` order (a missing feature is NaN: the model copes)."""
    return [float(row.get(name, math.nan)) for name in names]
