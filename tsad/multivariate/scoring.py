"""From a group model's surprise ratios to tsad's score, flags, change points and
contributors.

A ``GroupModel`` holds two fitted detectors of one kind over the group's features
(``tsad.multivariate.features``): the **outlier** one sees each variable's level and
its residual against a slower trailing mean, the **change** one only the residuals.
Each ratio is averaged over the last ``smooth`` rows, then mapped onto the
univariate log-odds scale: ``log-odds = threshold_log_odds(DEFAULT_SENSITIVITY) +
ln(r / k)``, so at the default sensitivity a row is flagged exactly when its smoothed
ratio reaches ``k``, and each step of sensitivity moves the threshold by the same
surprise as on one series. ``score = logistic(log-odds)``; ``is_anomaly == score >=
threshold``. A **change point** is a row where the change statistic, mapped the same
way with its own ``k``, first reaches the threshold (the row before it was below):
the onset of a change, which SKAB's change-point problem scores. The constants of
both statistics per detector were chosen by leave-one-folder-out cross-validation on
SKAB, the outlier ones by F1 and the change ones by NAB (``tsad bench skab --cv``;
benchmarks/README.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsad.detect.threshold import (
    DEFAULT_SENSITIVITY,
    capped_threshold,
    threshold_for,
    threshold_log_odds,
)
from tsad.multivariate.align import Aligned
from tsad.multivariate.detector import (
    MultiScored,
    MultivariateDetector,
    detector_from_state,
    make_detector,
)
from tsad.multivariate.features import (
    RollingFeatures,
    feature_rows,
    fold,
    trailing_mean,
    trailing_mean_1d,
)
from tsad.series import FloatArray


@dataclass(frozen=True)
class Tuning:
    """One statistic's constants: the level window, the residual's slower window (0:
    no residual columns), whether the level columns are kept, the ratio smoothing, the
    flag ratio at the default sensitivity and the detector's own options."""

    window: int
    long: int
    smooth: int
    k: float
    level: bool = True
    options: tuple[tuple[str, int], ...] = ()

    def features(self, values: FloatArray) -> FloatArray:
        return feature_rows(values, self.window, self.long, self.level)

    def rolling(self, variables: int) -> RollingFeatures:
        return RollingFeatures(variables, self.window, self.long, self.level)

    def to_state(self) -> dict[str, Any]:
        return {**self.__dict__, "options": [list(o) for o in self.options]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Tuning:
        opts = tuple((str(k), int(v)) for k, v in state.get("options", ()))
        return cls(
            int(state["window"]),
            int(state["long"]),
            int(state["smooth"]),
            float(state["k"]),
            bool(state.get("level", True)),
            opts,
        )


#: outlier statistic per detector, chosen by leave-one-folder-out CV on SKAB (by F1)
TUNING: dict[str, Tuning] = {
    "pca": Tuning(window=10, long=60, smooth=1, k=5.0, options=(("n_components", 8),)),
    "iforest": Tuning(window=1, long=0, smooth=30, k=0.9),
}
#: change statistic per detector, chosen by leave-one-folder-out CV on SKAB (by NAB)
CHANGE_TUNING: dict[str, Tuning] = {
    "pca": Tuning(window=10, long=30, smooth=1, k=1.5, level=False, options=(("n_components", 6),)),
    "iforest": Tuning(window=10, long=30, smooth=5, k=0.9, level=False),
}


@dataclass
class GroupModel:
    """A group's fitted outlier and change detectors (one kind) with their constants."""

    name: str
    variables: int
    outliers: MultivariateDetector
    changes: MultivariateDetector
    tuning: Tuning
    change_tuning: Tuning

    def to_state(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "variables": self.variables,
            "outliers": self.outliers.to_state(),
            "changes": self.changes.to_state(),
            "tuning": self.tuning.to_state(),
            "change_tuning": self.change_tuning.to_state(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> GroupModel:
        return cls(
            str(state["name"]),
            int(state["variables"]),
            detector_from_state(state["outliers"]),
            detector_from_state(state["changes"]),
            Tuning.from_state(state["tuning"]),
            Tuning.from_state(state["change_tuning"]),
        )


def fit_statistic(name: str, features: FloatArray, tuning: Tuning) -> MultivariateDetector:
    """One detector of kind ``name`` fitted on feature rows."""
    det = make_detector(name, **dict(tuning.options))
    det.fit(features)
    return det


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


def fit_model(
    name: str,
    aligned: Aligned,
    train: slice | np.ndarray,
    tuning: Tuning | None = None,
    change_tuning: Tuning | None = None,
) -> GroupModel:
    """Both statistics of kind ``name`` fitted on the ``train`` rows of the group."""
    t, c = tuning or TUNING[name], change_tuning or CHANGE_TUNING[name]
    v = aligned.values
    return GroupModel(
        name,
        v.shape[1],
        fit_statistic(name, t.features(v)[train], t),
        fit_statistic(name, c.features(v)[train], c),
        t,
        c,
    )


def flag_ratio(k: float, sensitivity: float) -> float:
    """The smoothed ratio at which a row is flagged at ``sensitivity``."""
    margin = math.exp(threshold_log_odds(sensitivity) - threshold_log_odds(DEFAULT_SENSITIVITY))
    return k * margin


def onsets(flags: np.ndarray) -> np.ndarray:
    """Rows where ``flags`` turns on (row 0: its own flag)."""
    out = flags.copy()
    out[1:] = flags[1:] & ~flags[:-1]
    return out


def score_aligned(
    aligned: Aligned,
    model: GroupModel,
    *,
    sensitivity: float = DEFAULT_SENSITIVITY,
    max_anomaly_ratio: float | None = None,
    learning_rows: int = 0,
) -> MultiScored:
    """Score every row of ``aligned`` with a fitted ``model``; the first
    ``learning_rows`` rows are warm-up (score kept, no flags, no change points, no
    contributors)."""
    t, c = model.tuning, model.change_tuning
    feats = t.features(aligned.values)
    ratio = trailing_mean_1d(model.outliers.ratio(feats), t.smooth)
    score = to_score(ratio, t.k)
    learning = np.zeros(len(aligned), dtype=bool)
    learning[: max(0, learning_rows)] = True
    live = score[~learning]
    threshold = capped_threshold(live, threshold_for(sensitivity), max_anomaly_ratio)
    is_anomaly = (score >= threshold) & ~learning
    at = flag_ratio(t.k, sensitivity)
    severity = np.where(is_anomaly, np.minimum(1.0, 1.0 - at / np.maximum(ratio, 1e-12)), 0.0)
    change = trailing_mean_1d(model.changes.ratio(c.features(aligned.values)), c.smooth)
    is_change = onsets(to_score(change, c.k) >= threshold_for(sensitivity)) & ~learning
    per_var = fold(model.outliers.contributions(feats), aligned.values.shape[1])
    shares = shares_of(trailing_mean(per_var, t.smooth))
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
        is_change_point=is_change,
    )
