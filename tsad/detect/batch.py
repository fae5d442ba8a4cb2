"""Batch detection: every point scored against an in-sample band fitted on the
whole series (the ``batch`` mode of ``POST /v1/detect`` and ``tsad detect``).

The band comes from the whole series, the score from the points before each one
(the same scorer as the online paths), so a score means the same in both modes.
"""

from __future__ import annotations

from tsad.detect import calibrate
from tsad.detect.flags import Flagged, flag_stream
from tsad.detect.online import lower_bound_of
from tsad.detect.residual_score import insample_reference
from tsad.detect.robust import robust_history
from tsad.detect.threshold import DEFAULT_SENSITIVITY
from tsad.prepare import Prepared
from tsad.series import season_length
from tsad.types import Forecaster


def detect_batch(
    prepared: Prepared,
    forecaster: Forecaster,
    level: float,
    *,
    sensitivity: float = DEFAULT_SENSITIVITY,
    max_anomaly_ratio: float | None = None,
) -> tuple[Flagged, str]:
    """Fit in-sample on the regular grid; score the raw points at their grid slots."""
    clean = robust_history(prepared.regular, prepared.step_ms)
    fc = calibrate.insample(forecaster, clean, prepared.step_ms, [level])
    band, idx = fc.band, prepared.slots
    season = season_length(prepared.step_ms)
    ref = insample_reference(clean.y, season)
    flagged = flag_stream(
        prepared.raw.ts,
        prepared.raw.y,
        band.mean[idx],
        band.lo[level][idx],
        band.hi[level][idx],
        level,
        ref[idx],
        season=season,
        sensitivity=sensitivity,
        max_anomaly_ratio=max_anomaly_ratio,
        lower_bound=lower_bound_of(prepared.raw.y),
    )
    return flagged, fc.model_used
