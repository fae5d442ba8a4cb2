"""The group hot path: one arriving row scored in O(variables · components).

``OnlineGroupScorer`` keeps, for each of the model's two statistics, the rolling
feature means, the rolling ratio (and, for outliers, the rolling contributions) of
the rows seen so far, so scoring a row never looks back at the history and never
trains. Its output is the same as ``tsad.multivariate.scoring.score_aligned`` on the
same rows (a test pins it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsad.detect.threshold import DEFAULT_SENSITIVITY, threshold_for, threshold_log_odds
from tsad.multivariate.features import RollingFeatures, RollingMean
from tsad.multivariate.scoring import GroupModel, flag_ratio
from tsad.series import FloatArray


@dataclass(frozen=True)
class RowScore:
    """One row's result."""

    score: float
    is_anomaly: bool
    severity: float
    shares: FloatArray
    is_change_point: bool = False


class OnlineGroupScorer:
    """Scores rows as they arrive with a fitted group model."""

    def __init__(self, model: GroupModel, sensitivity: float = DEFAULT_SENSITIVITY) -> None:
        self.model = model
        self.sensitivity = sensitivity
        t, c, d = model.tuning, model.change_tuning, model.variables
        self.features: RollingFeatures = t.rolling(d)
        self.ratio = RollingMean(1, t.smooth)
        self.contrib = RollingMean(d, t.smooth)
        self.change_features: RollingFeatures = c.rolling(d)
        self.change_ratio = RollingMean(1, c.smooth)
        self.changing = False
        self._base = threshold_log_odds(DEFAULT_SENSITIVITY)
        self.set_sensitivity(sensitivity)

    def set_sensitivity(self, sensitivity: float) -> None:
        """Flag at another sensitivity from the next row on (feedback moved it)."""
        self.sensitivity = sensitivity
        self._threshold = threshold_for(sensitivity)
        self._flag_ratio = flag_ratio(self.model.tuning.k, sensitivity)

    def _log_odds(self, ratio: float, k: float) -> float:
        return self._base + math.log(max(ratio, 1e-12) / k)

    def push(self, row: FloatArray) -> RowScore:
        m, t, c = self.model, self.model.tuning, self.model.change_tuning
        x = np.asarray(row, dtype=np.float64)
        f = self.features.push(x)[None, :]
        r = max(float(self.ratio.push(m.outliers.ratio(f))[0]), 1e-12)
        per_var = m.outliers.contributions(f)[0].reshape(-1, m.variables).sum(axis=0)
        contrib = np.maximum(self.contrib.push(per_var), 0.0)
        # scalar arithmetic: the same mapping as scoring.to_score, without array overhead
        score = 1.0 / (1.0 + math.exp(-self._log_odds(r, t.k)))
        flagged = score >= self._threshold
        severity = min(1.0, max(0.0, 1.0 - self._flag_ratio / r)) if flagged else 0.0
        total = float(contrib.sum())
        shares = contrib / total if total > 0 else np.zeros_like(contrib)
        g = self.change_features.push(x)[None, :]
        cr = float(self.change_ratio.push(m.changes.ratio(g))[0])
        changing = 1.0 / (1.0 + math.exp(-self._log_odds(cr, c.k))) >= self._threshold
        onset, self.changing = changing and not self.changing, changing
        return RowScore(score, flagged, severity, shares, onset)

    def to_state(self) -> dict[str, Any]:
        return {
            "model": self.model.to_state(),
            "sensitivity": self.sensitivity,
            "features": self.features.to_state(),
            "ratio": self.ratio.to_state(),
            "contrib": self.contrib.to_state(),
            "change_features": self.change_features.to_state(),
            "change_ratio": self.change_ratio.to_state(),
            "changing": self.changing,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> OnlineGroupScorer:
        sc = cls(GroupModel.from_state(state["model"]), float(state["sensitivity"]))
        sc.features = RollingFeatures.from_state(state["features"])
        sc.ratio = RollingMean.from_state(state["ratio"])
        sc.contrib = RollingMean.from_state(state["contrib"])
        sc.change_features = RollingFeatures.from_state(state["change_features"])
        sc.change_ratio = RollingMean.from_state(state["change_ratio"])
        sc.changing = bool(state["changing"])
        return sc
