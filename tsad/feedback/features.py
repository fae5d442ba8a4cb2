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

from tsad.feedback.adapt import logit

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
)


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
    }


def vector(row: dict[str, Any]) -> list[float]:
    """A feature row in ``FEATURES`` order (a missing feature is NaN: the model copes)."""
    return [float(row.get(name, math.nan)) for name in FEATURES]
