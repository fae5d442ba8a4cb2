"""Isolation Forest (scikit-learn) on the feature rows: the in-run peer.

The surprise ratio is the forest's anomaly score (``−score_samples``) over its
99th percentile on the training rows. A forest has no per-variable decomposition,
so contributions are each variable's squared robust z-score against the training
rows (median / MAD): the variables furthest from their normal range.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tsad.series import FloatArray

_EPS = 1e-9


class IsolationForestDetector:
    """scikit-learn's IsolationForest, seeded (same rows → same scores)."""

    name = "iforest"

    def __init__(self, n_estimators: int = 100, seed: int = 0) -> None:
        self.n_estimators = n_estimators
        self.seed = seed
        self.model: Any = None
        self.q99 = 1.0
        self.median = np.zeros(0)
        self.mad = np.zeros(0)

    def fit(self, rows: FloatArray) -> None:
        from sklearn.ensemble import IsolationForest  # lazy: import tsad stays light

        self.model = IsolationForest(n_estimators=self.n_estimators, random_state=self.seed)
        self.model.fit(rows)
        raw = -self.model.score_samples(rows)
        self.q99 = max(float(np.quantile(raw, 0.99)), _EPS)
        self.median = np.median(rows, axis=0)
        mad = 1.4826 * np.median(np.abs(rows - self.median), axis=0)
        self.mad = np.where(mad > _EPS, mad, np.maximum(rows.std(axis=0), 1.0))

    def ratio(self, rows: FloatArray) -> FloatArray:
        out: FloatArray = -self.model.score_samples(rows) / self.q99
        return out

    def contributions(self, rows: FloatArray) -> FloatArray:
        out: FloatArray = ((rows - self.median) / self.mad) ** 2
        return out

    def to_state(self) -> dict[str, Any]:
        return {"name": self.name, "n_estimators": self.n_estimators, "seed": self.seed}
