"""The group hot path: one arriving row scored in O(variables · components).

``OnlineGroupScorer`` keeps the rolling feature mean, the rolling ratio and the
rolling contributions of the rows seen so far, so scoring a row never looks back
at the history and never trains. Its output is the same as
``tsad.multivariate.scoring.score_aligned`` on the same rows (a test pins it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsad.detect.threshold import DEFAULT_SENSITIVITY, threshold_for, threshold_log_odds
from tsad.multivariate.detector import MultivariateDetector, detector_from_state
from tsad.multivariate.features import RollingMean
from tsad.multivariate.scoring import TUNING, Tuning
from tsad.series import FloatArray


@dataclass(frozen=True)
class RowScore:
    """One row's result."""

    score: float
    is_anomaly: bool
    severity: float
    shares: FloatArray


class OnlineGroupScorer:
    """Scores rows as they arrive with a fitted detector."""

    def __init__(
        self,
        detector: MultivariateDetector,
        variables: int,
        tuning: Tuning | None = None,
        sensitivity: float = DEFAULT_SENSITIVITY,
    ) -> None:
        self.detector = detector
        self.tuning = tuning or TUNING[detector.name]
        self.sensitivity = sensitivity
        self.features = RollingMean(variables, self.tuning.window)
        self.ratio = RollingMean(1, self.tuning.smooth)
        self.contrib = RollingMean(variables, self.tuning.smooth)
        self._base = threshold_log_odds(DEFAULT_SENSITIVITY)
        self._threshold = threshold_for(sensitivity)
        self._flag_ratio = self.tuning.k * math.exp(threshold_log_odds(sensitivity) - self._base)

    def push(self, row: FloatArray) -> RowScore:
        f = self.features.push(np.asarray(row, dtype=np.float64))[None, :]
        r = max(float(self.ratio.push(self.detector.ratio(f))[0]), 1e-12)
        c = np.maximum(self.contrib.push(self.detector.contributions(f)[0]), 0.0)
        # scalar arithmetic: the same mapping as scoring.to_score, without array overhead
        score = 1.0 / (1.0 + math.exp(-(self._base + math.log(r / self.tuning.k))))
        flagged = score >= self._threshold
        severity = min(1.0, max(0.0, 1.0 - self._flag_ratio / r)) if flagged else 0.0
        total = float(c.sum())
        shares = c / total if total > 0 else np.zeros_like(c)
        return RowScore(score, flagged, severity, shares)

    def to_state(self) -> dict[str, Any]:
        return {
            "detector": self.detector.to_state(),
            "tuning": [self.tuning.window, self.tuning.smooth, self.tuning.k],
            "sensitivity": self.sensitivity,
            "features": self.features.to_state(),
            "ratio": self.ratio.to_state(),
            "contrib": self.contrib.to_state(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> OnlineGroupScorer:
        w, s, k = state["tuning"]
        det = detector_from_state(state["detector"])
        feats = RollingMean.from_state(state["features"])
        sc = cls(det, feats.ring.shape[1], Tuning(int(w), int(s), float(k)), state["sensitivity"])
        sc.features = feats
        sc.ratio = RollingMean.from_state(state["ratio"])
        sc.contrib = RollingMean.from_state(state["contrib"])
        return sc
