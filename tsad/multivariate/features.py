"""What the detectors see: each variable's trailing mean over ``window`` rows.

Sensors at 1 s are noisy; the faults SKAB labels (and most service incidents)
last tens of seconds or more, so a short trailing mean lifts them above the noise.
It is causal (row i uses rows ≤ i), so batch and online see the same features,
and ``RollingMean`` keeps it in O(variables) per arriving row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tsad.series import FloatArray


def trailing_mean(values: FloatArray, window: int) -> FloatArray:
    """Row i: the mean of rows ``max(0, i−window+1) … i`` (column-wise)."""
    if window <= 1:
        return values.astype(np.float64, copy=True)
    c = np.cumsum(np.vstack([np.zeros((1, values.shape[1])), values]), axis=0)
    n = values.shape[0]
    hi = np.arange(1, n + 1)
    lo = np.maximum(0, hi - window)
    out: FloatArray = (c[hi] - c[lo]) / (hi - lo)[:, None]
    return out


def trailing_mean_1d(x: FloatArray, window: int) -> FloatArray:
    """``trailing_mean`` of one column."""
    return trailing_mean(x[:, None], window)[:, 0]


class RollingMean:
    """The trailing mean of arriving rows, O(columns) per row (a ring of ``window``)."""

    def __init__(self, columns: int, window: int) -> None:
        self.window = max(1, int(window))
        self.ring = np.zeros((self.window, columns))
        self.total = np.zeros(columns)
        self.count = 0

    def push(self, row: FloatArray) -> FloatArray:
        slot = self.count % self.window
        if self.count >= self.window:
            self.total -= self.ring[slot]
        self.ring[slot] = row
        self.total += row
        self.count += 1
        out: FloatArray = self.total * (1.0 / min(self.count, self.window))
        return out

    def to_state(self) -> dict[str, Any]:
        return {"window": self.window, "ring": self.ring.tolist(), "count": self.count}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RollingMean:
        ring = np.asarray(state["ring"], dtype=np.float64)
        rm = cls(ring.shape[1], int(state["window"]))
        rm.ring, rm.count = ring, int(state["count"])
        rm.total = ring[: min(rm.count, rm.window)].sum(axis=0)
        return rm
