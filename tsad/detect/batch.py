"""Batch detection: every point scored against an in-sample band fitted on the
whole series (the ``batch`` mode of ``POST /v1/detect`` and ``tsad detect``)."""

from __future__ import annotations

from tsad.detect.score import score_against_band
from tsad.prepare import Prepared
from tsad.series import Scored
from tsad.types import Forecaster


def detect_batch(prepared: Prepared, forecaster: Forecaster, level: float) -> tuple[Scored, str]:
    """Fit in-sample on the regular grid; score the raw points at their grid slots."""
    fc = forecaster.insample(prepared.regular, prepared.step_ms, [level])
    band, idx = fc.band, prepared.slots
    scored = score_against_band(
        prepared.raw.ts,
        prepared.raw.y,
        band.mean[idx],
        band.lo[level][idx],
        band.hi[level][idx],
        level,
    )
    return scored, fc.model_used
