"""From a detector's surprise ratios to tsad's score, flags and contributors.

The ratio of each row is averaged over the last ``smooth`` rows (faults persist;
one noisy second should not flag), then mapped onto the univariate log-odds
scale: ``log-odds = threshold_log_odds(DEFAULT_SENSITIVITY) + ln(r / k)``, so at
the default sensitivity a row is flagged exactly when its smoothed ratio reaches
``k``, and each step of sensitivity moves the threshold by the same surprise as on
one series. ``score = logistic(log-odds)``; ``is_anomaly == score >= threshold``.
``window``, ``smooth`` and ``k`` per detector were chosen by leave-one-folder-out
cross-validation on SKAB (``tsad bench skab --cv``; benchmarks/README.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tsad.detect.threshold import (
    DEFAULT_SENSITIVITY,
    capped_threshold,
    threshold_for,
    threshold_log_odds,
)
from tsad.multivariate.align import Aligned
from tsad.multivariate.detector import MultiScored, MultivariateDetector, make_detector
from tsad.multivariate.features import trailing_mean, trailing_mean_1d
from tsad.series import FloatArray


@dataclass(frozen=True)
class Tuning:
    """A detector's constants: feature window, ratio smoothing, flag ratio at default."""

    window: int
    smooth: int
    k: float


#: chosen by leave-one-folder-out CV on SKAB (benchmarks/README.md)
TUNING: dict[str, Tuning] = {
    "pca": Tuning(window=10, smooth=5, k=6.0),
    "iforest": Tuning(window=1, smooth=10, k=0.9),
}


def log_odds(ratio: FloatArray, k: float) -> FloatArray:
    """The surprise of a smoothed ratio on the univariate log-odds scale."""
    base = threshold_log_odds(DEFAULT_SENSITIVITY)
    out: FloatArray = base + np.log(np.maximum(ratio, 1e-12) / k)
    return out


def to_score(ratio: FloatArray, k: float) -> FloatArray:
    out: FloatArray = 1.0 / (1.0 + np.exp(-log_odds(ratio, k)))
    return out


def shares_of(contrib: FloatArray) -> FloatArray:
    """Rows of non-negative contributions → shares summing to 1 (0 rows stay 0)."""
    c = np.maximum(np.nan_to_num(contrib, nan=0.0, posinf=1e12), 0.0)
    total = c.sum(axis=1, keepdims=True)
    out: FloatArray = np.where(total > 0, c / np.where(total > 0, total, 1.0), 0.0)
    return out


def fit_detector(
    name: str, aligned: Aligned, train: slice, tuning: Tuning | None = None
) -> MultivariateDetector:
    """A detector fitted on the ``train`` rows of the group's features."""
    t = tuning or TUNING[name]
    det = make_detector(name)
    det.fit(trailing_mean(aligned.values, t.window)[train])
    return det


def score_aligned(
    aligned: Aligned,
    detector: MultivariateDetector,
    *,
    sensitivity: float = DEFAULT_SENSITIVITY,
    max_anomaly_ratio: float | None = None,
    learning_rows: int = 0,
    tuning: Tuning | None = None,
) -> MultiScored:
    """Score every row of ``aligned`` with a fitted ``detector``; the first
    ``learning_rows`` rows are warm-up (score kept, no flags, no contributors)."""
    t = tuning or TUNING[detector.name]
    feats = trailing_mean(aligned.values, t.window)
    ratio = trailing_mean_1d(detector.ratio(feats), t.smooth)
    score = to_score(ratio, t.k)
    learning = np.zeros(len(aligned), dtype=bool)
    learning[: max(0, learning_rows)] = True
    live = score[~learning]
    threshold = capped_threshold(live, threshold_for(sensitivity), max_anomaly_ratio)
    is_anomaly = (score >= threshold) & ~learning
    margin = math.exp(threshold_log_odds(sensitivity) - threshold_log_odds(DEFAULT_SENSITIVITY))
    flag_ratio = t.k * margin
    severity = np.where(
        is_anomaly, np.minimum(1.0, 1.0 - flag_ratio / np.maximum(ratio, 1e-12)), 0.0
    )
    shares = shares_of(trailing_mean(detector.contributions(feats), t.smooth))
    shares[learning] = 0.0
    return MultiScored(
        ts=aligned.ts,
        values=aligned.values,
        variables=aligned.variables,
        score=score,
        is_anomaly=is_anomaly,
        severity=np.maximum(severity, 0.0),
        learning=learning,
        shares=shares,
        threshold=float(threshold),
        filled=aligned.filled,
    )
