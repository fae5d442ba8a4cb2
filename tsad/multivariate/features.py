"""What the detectors see, per variable: its trailing mean over ``window`` rows (the
**level**) and that level minus the variable's trailing mean over ``long`` rows (the
**residual** of a slow local model: what changed in the last ``long`` rows).

Sensors at 1 s are noisy; the faults SKAB labels (and most service incidents)
last tens of seconds or more, so a short trailing mean lifts them above the noise.
The residual columns see a change whatever level the variable drifted to, and fade
once the change is ``long`` rows old, so they mark where something changed (the
group's change points) and, beside the level, separate a drift from a fault.
Everything is causal (row i uses rows ≤ i), so batch and online see the same
features, and ``RollingFeatures`` keeps them in O(variables) per arriving row.
Feature column ``c`` belongs to variable ``c % variables`` (``fold``).
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


def feature_rows(values: FloatArray, window: int, long: int = 0, level: bool = True) -> FloatArray:
    """Level columns (if ``level``), then residual columns (if ``long`` > 0)."""
    m = trailing_mean(values, window)
    cols = [m] if level else []
    if long > 0:
        cols.append(m - trailing_mean(values, long))
    if not cols:
        raise ValueError("features need level columns, residual columns or both")
    return np.hstack(cols)


def fold(per_column: FloatArray, variables: int) -> FloatArray:
    """Per-feature-column values summed per variable (column ``c`` → ``c % variables``)."""
    n = per_column.shape[0]
    out: FloatArray = per_column.reshape(n, -1, variables).sum(axis=1)
    return out


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


class RollingFeatures:
    """``feature_rows`` of arriving rows, O(variables) per row."""

    def __init__(self, variables: int, window: int, long: int = 0, level: bool = True) -> None:
        self.level = level
        self.short = RollingMean(variables, window)
        self.long = RollingMean(variables, long) if long > 0 else None

    def push(self, row: FloatArray) -> FloatArray:
        m = self.short.push(row)
        if self.long is None:
            return m.copy()
        resid = m - self.long.push(row)
        return np.concatenate([m, resid]) if self.level else resid

    def to_state(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "short": self.short.to_state(),
            "long": self.long.to_state() if self.long is not None else None,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RollingFeatures:
        rf = cls.__new__(cls)
        rf.level = bool(state["level"])
        rf.short = RollingMean.from_state(state["short"])
        rf.long = RollingMean.from_state(state["long"]) if state["long"] is not None else None
        return rf
