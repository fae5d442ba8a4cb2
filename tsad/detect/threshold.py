"""Sensitivity → flag threshold, and the per-request cap on flags.

tsad's one knob is Azure Anomaly Detector's ``sensitivity`` (0–99; higher flags
more). A score is the logistic of a log-odds (``tsad.detect.residual_score``);
the flag threshold is the log-odds ``(100 − sensitivity) · LOG_ODDS_PER_STEP``,
so each step of sensitivity moves the threshold by the same amount of surprise.
``is_anomaly`` is exactly ``score >= threshold``; ``max_anomaly_ratio`` raises the
threshold of one request to the score of its ``ratio · n``-th highest point.
"""

from __future__ import annotations

import math

import numpy as np

from tsad.errors import InvalidInput
from tsad.series import FloatArray

#: log-odds of surprise per step of sensitivity
LOG_ODDS_PER_STEP = 0.1
#: chosen by leave-one-folder-out cross-validation on NAB (benchmarks/README.md)
DEFAULT_SENSITIVITY = 95.0


def check_sensitivity(sensitivity: float) -> float:
    """A sensitivity in [0, 99.9], or InvalidInput."""
    s = float(sensitivity)
    if not math.isfinite(s) or not 0.0 <= s < 100.0:
        raise InvalidInput(f"sensitivity must be from 0 to 99.9, got {sensitivity!r}")
    return s


def check_ratio(ratio: float | None) -> float | None:
    """A max_anomaly_ratio in (0, 0.5], or InvalidInput."""
    if ratio is None:
        return None
    r = float(ratio)
    if not math.isfinite(r) or not 0.0 < r <= 0.5:
        raise InvalidInput(f"max_anomaly_ratio must be in (0, 0.5], got {ratio!r}")
    return r


def threshold_log_odds(sensitivity: float) -> float:
    """The log-odds a point's surprise must reach to be flagged."""
    return (100.0 - sensitivity) * LOG_ODDS_PER_STEP


def threshold_for(sensitivity: float) -> float:
    """The score threshold at ``sensitivity``: ``is_anomaly == (score >= threshold)``."""
    return 1.0 / (1.0 + math.exp(-threshold_log_odds(sensitivity)))


def capped_threshold(score: FloatArray, threshold: float, ratio: float | None) -> float:
    """Raise ``threshold`` so at most ``ceil(ratio · n)`` points reach it."""
    if ratio is None or score.shape[0] == 0:
        return threshold
    k = max(1, math.ceil(ratio * score.shape[0]))
    if int((score >= threshold).sum()) <= k:
        return threshold
    top = np.sort(score)[::-1]
    # the k-th highest score, nudged above the (k+1)-th so ties cannot exceed k
    kth, nxt = float(top[k - 1]), float(top[k]) if k < top.shape[0] else -math.inf
    return kth if kth > nxt else float(np.nextafter(kth, math.inf))
