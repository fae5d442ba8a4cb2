"""What the NAB bench runs: a ``Detector`` takes one file's rows in order and
returns an ``anomaly_score`` per row that depends only on the rows up to it.

``OnlineDetector`` is the default: the service's online replay
(``tsad.detect.online.detect_online``: refit every horizon, each point scored
against a band fitted on earlier points) followed by the self-calibrating
residual score (``tsad.detect.residual_score``).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from tsad.detect.online import detect_online
from tsad.detect.residual_score import residual_scores
from tsad.detect.score import z_for_level
from tsad.errors import TsadError
from tsad.prepare import prepare
from tsad.series import FloatArray, IntArray, infer_step_ms, season_length
from tsad.types import Forecaster


class Detector(Protocol):
    """A causal detector: ``score(ts, y)[i]`` may only use rows ``0..i``."""

    name: str

    def score(self, ts: IntArray, y: FloatArray) -> FloatArray: ...


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
    """The service's online path replayed over a file, scored by residual rarity."""

    def __init__(self, forecaster: Forecaster, name: str, level: float = 99.0) -> None:
        self.forecaster = forecaster
        self.name = name
        self.level = level

    def bands(self, ts: IntArray, y: FloatArray) -> tuple[IntArray, FloatArray, FloatArray]:
        """(kept rows, expected, the band's implied σ) from the online replay."""
        keep = forward_rows(ts)
        try:
            prepared = prepare(ts[keep], y[keep], min_points=self.forecaster.min_points(1))
            scored, _ = detect_online(prepared, self.forecaster, self.level)
        except TsadError:
            nan = np.full(keep.shape[0], np.nan)
            return keep, nan, nan
        return keep, scored.expected, (scored.hi - scored.lo) / (2.0 * z_for_level(self.level))

    def score(self, ts: IntArray, y: FloatArray) -> FloatArray:
        keep, expected, sigma = self.bands(ts, y)
        out = np.zeros(ts.shape[0])
        out[keep] = residual_scores(y[keep], expected, sigma, season=_season(ts[keep]))
        return out


# the sampling step is read from this many first rows only: later rows never
# change an earlier row's score
_STEP_ROWS = 48


def _season(ts: IntArray) -> int:
    """Points per season from the first rows' sampling step (1 when unknown)."""
    try:
        return season_length(infer_step_ms(ts[:_STEP_ROWS]))
    except TsadError:
        return 1
