"""A learned alert ranker: scikit-learn's HistGradientBoostingClassifier over the
features of labelled alerts (``tsad.feedback.features``) from every series.

It stays off until ``min_labels`` labelled alerts exist with ``min_per_class`` of
each kind, and says why (``RankerStatus.reason``). Training is CPU work: callers
run ``train`` off the event loop. ``p_true`` is one small predict, cheap enough for
the moment an alert fires.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsad.feedback.features import FEATURE_SETS, RANKED, vector


@dataclass(frozen=True)
class RankerStatus:
    """Whether the ranker scores alerts, and why not when it does not."""

    enabled: bool
    reason: str
    labels: int
    true_labels: int
    trained_at: float | None = None


@dataclass(frozen=True)
class TrainedRanker:
    """A fitted classifier and what it was fitted on."""

    model: Any
    status: RankerStatus
    features: tuple[str, ...] = FEATURE_SETS[RANKED]

    def p_true(self, rows: Sequence[dict[str, float]]) -> np.ndarray:
        """The probability each alert is a true positive."""
        x = np.asarray([vector(r, self.features) for r in rows], dtype=np.float64)
        out: np.ndarray = self.model.predict_proba(x)[:, 1]
        return out


#: features whose effect on p_true has a known sign: a more surprising alert is more
#: likely real, a series with more false alarms behind it less (monotone constraints
#: keep a few hundred labels from learning the opposite by chance)
MONOTONE = {
    "log_odds": 1,
    "over_threshold": 1,
    "severity": 1,
    "prior_true": 1,
    "prior_false": -1,
    "false_share": -1,
    "beyond_seen": 1,
    "beyond_fp": 1,
    "resembles_fp": -1,
}


def _classifier(n: int, features: Sequence[str]) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    # shallow, short and regularised: a few hundred labels is the usual training set
    return HistGradientBoostingClassifier(
        max_iter=60,
        learning_rate=0.08,
        max_depth=2,
        min_samples_leaf=max(3, min(20, n // 20)),
        l2_regularization=1.0,
        monotonic_cst=[MONOTONE.get(name, 0) for name in features],
        random_state=0,
    )


def train(
    rows: Sequence[dict[str, float]],
    truth: Sequence[bool],
    *,
    min_labels: int,
    min_per_class: int,
    features: Sequence[str] | None = None,
) -> TrainedRanker | RankerStatus:
    """Fit on labelled alerts (on ``features``, by default the chosen set); the status
    instead when there are too few."""
    names = tuple(features or FEATURE_SETS[RANKED])
    n, pos = len(rows), int(sum(truth))
    short = []
    if n < min_labels:
        short.append(f"{n} labelled alerts of the {min_labels} needed")
    if min(pos, n - pos) < min_per_class:
        short.append(
            f"{pos} true and {n - pos} false positives; {min_per_class} of each are needed"
        )
    if short:
        return RankerStatus(False, "off until enough labels: " + "; ".join(short), n, pos)
    model = _classifier(n, names)
    x = np.asarray([vector(r, names) for r in rows], dtype=np.float64)
    # a feature no training row has (e.g. no false positive labelled yet): scikit-learn
    # cannot bin an all-NaN column; a constant teaches the model nothing either
    x[:, np.isnan(x).all(axis=0)] = 0.0
    model.fit(x, np.asarray(truth, dtype=np.int8))
    status = RankerStatus(True, f"trained on {n} labelled alerts", n, pos, time.time())
    return TrainedRanker(model, status, names)
