"""The seam for multivariate detectors, and what every one of them returns.

A ``MultivariateDetector`` is fitted on feature rows (``tsad.multivariate.features``)
it may trust and then gives, for any rows, a **surprise ratio** (1 = the 99th
percentile of its own statistic on the training rows) and each variable's
non-negative **contribution** to that row's surprise. ``tsad.multivariate.scoring``
turns ratios into tsad's score and flags, so the threshold stage is shared, as on
the univariate path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from tsad.errors import InvalidInput
from tsad.series import BoolArray, FloatArray, IntArray

#: detectors by name; ``pca`` (T² + Q) is the default, chosen on SKAB (benchmarks/README.md);
#: a group model holds two of one kind (outliers and change points: ``scoring.GroupModel``)
DETECTORS = ("pca", "iforest")
DEFAULT_DETECTOR = "pca"


class MultivariateDetector(Protocol):
    """Fit on trusted rows, then a surprise ratio and per-variable contributions per row."""

    name: str

    def fit(self, rows: FloatArray) -> None: ...

    def ratio(self, rows: FloatArray) -> FloatArray: ...

    def contributions(self, rows: FloatArray) -> FloatArray: ...

    def to_state(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class MultiScored:
    """Per grid row: score in [0, 1], the flag at the group's sensitivity, severity,
    whether the row was in warm-up, each variable's share of the surprise, and
    whether a change starts at the row (``tsad.multivariate.scoring``)."""

    ts: IntArray
    values: FloatArray
    variables: tuple[str, ...]
    score: FloatArray
    is_anomaly: BoolArray
    severity: FloatArray
    learning: BoolArray
    shares: FloatArray  # (rows, variables), each row sums to 1 (or 0 in warm-up)
    threshold: float
    filled: tuple[int, ...] = ()  # per variable: grid slots filled, not observed
    is_change_point: BoolArray | None = None  # None: no change points (all False)

    def __post_init__(self) -> None:
        if self.is_change_point is None:
            object.__setattr__(self, "is_change_point", np.zeros(len(self), dtype=bool))

    @property
    def change_points(self) -> BoolArray:
        cp = self.is_change_point
        assert cp is not None  # set by __post_init__
        return cp

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def top(self, i: int, k: int) -> list[tuple[str, float]]:
        """The ``k`` variables with the largest share in row ``i``, largest first."""
        row = self.shares[i]
        order = sorted(range(row.shape[0]), key=lambda j: -float(row[j]))[: max(0, k)]
        return [(self.variables[j], float(row[j])) for j in order if row[j] > 0]


def make_detector(name: str, **kwargs: Any) -> MultivariateDetector:
    """A detector by name (``iforest`` imports scikit-learn only when asked for)."""
    if name == "pca":
        from tsad.multivariate.pca_t2q import PcaT2Q

        return PcaT2Q(**kwargs)
    if name == "iforest":
        from tsad.multivariate.iforest import IsolationForestDetector

        return IsolationForestDetector(**kwargs)
    raise InvalidInput(f"unknown multivariate detector {name!r}; one of {', '.join(DETECTORS)}")


def detector_from_state(state: dict[str, Any]) -> MultivariateDetector:
    """A fitted detector rebuilt from ``to_state()``."""
    if state.get("name") == "pca":
        from tsad.multivariate.pca_t2q import PcaT2Q

        return PcaT2Q.from_state(state)
    raise InvalidInput(f"no stored form for detector {state.get('name')!r}")
