"""What the NAB bench runs: a ``Detector`` takes one file's rows in order and
returns, per row, an ``anomaly_score`` and a flag that depend only on the rows up
to it.

``OnlineDetector`` is the default: the service's own online replay
(``tsad.detect.online.detect_online``: refit every horizon, each point scored by
the series' causal record scorer against a band fitted on earlier points), so the
bench measures exactly what users get — the score as a ranking, and the flags at
the default sensitivity as a binary detector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from tsad.detect.online import detect_online
from tsad.detect.threshold import DEFAULT_SENSITIVITY
from tsad.errors import TsadError
from tsad.prepare import prepare
from tsad.series import BoolArray, FloatArray, IntArray
from tsad.types import Forecaster


@dataclass(frozen=True)
class Detection:
    """One file's rows: the ranking score and the flags."""

    score: FloatArray
    flags: BoolArray


class Detector(Protocol):
    """A causal detector: ``detect(ts, y)`` row ``i`` may only use rows ``0..i``."""

    name: str

    def detect(self, ts: IntArray, y: FloatArray) -> Detection: ...


def forward_rows(ts: IntArray) -> IntArray:
    """Rows that move time forward: a row stamped at or before an earlier row is a
    late or repeated arrival, left unscored (sorting it in would let an earlier
    row's score depend on a later one)."""
    if ts.shape[0] == 0:
        return np.empty(0, np.int64)
    running = np.maximum.accumulate(ts)
    keep = np.r_[True, ts[1:] > running[:-1]]
    return np.flatnonzero(keep)


class OnlineDetector:
    """The service's online path replayed over a file."""

    def __init__(
        self,
        forecaster: Forecaster,
        name: str,
        level: float = 99.0,
        sensitivity: float = DEFAULT_SENSITIVITY,
    ) -> None:
        self.forecaster = forecaster
        self.name = name
        self.level = level
        self.sensitivity = sensitivity

    def detect(self, ts: IntArray, y: FloatArray) -> Detection:
        keep = forward_rows(ts)
        score = np.zeros(ts.shape[0])
        flags = np.zeros(ts.shape[0], bool)
        try:
            prepared = prepare(ts[keep], y[keep], min_points=self.forecaster.min_points(1))
            flagged, _ = detect_online(
                prepared, self.forecaster, self.level, sensitivity=self.sensitivity
            )
        except TsadError:
            return Detection(score, flags)
        score[keep] = flagged.scored.score
        flags[keep] = flagged.scored.is_anomaly
        return Detection(score, flags)
