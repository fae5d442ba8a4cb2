"""TimeGPT's anomaly routes (``/v2/anomaly_detection``, ``/v2/online_anomaly_detection``)
answered by tsad's local models and ``score_against_band``; the wire shapes are
described in ``tsad.integrations.timegpt_compat``. No web framework here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tsad.detect.score import score_against_band
from tsad.errors import InvalidInput
from tsad.integrations.timegpt_compat import AnomalyRequest, OnlineAnomalyRequest, wire_levels
from tsad.integrations.timegpt_forecast import Runner, in_sample, intervals, split
from tsad.models.registry import ModelRegistry
from tsad.series import Band, FloatArray, IntArray, Scored


def anomaly_detection(
    req: AnomalyRequest, registry: ModelRegistry
) -> tuple[dict[str, Any], Runner]:
    """POST /v2/anomaly_detection: flag points outside their in-sample band."""
    levels = wire_levels([req.level])
    if levels[0] == 0:
        raise InvalidInput("level must be in (0, 100) for anomaly detection")
    runner = Runner(registry, req.model, req.freq)
    bands, idxs = in_sample(req.series, runner, levels)
    y = np.asarray(req.series.y, np.float64)[np.concatenate(idxs)]
    scored = _score(y, bands, levels[0])
    body = {
        "mean": scored.expected.tolist(),
        "intervals": intervals(bands, levels),
        "sizes": [len(b) for b in bands],
        "anomaly": scored.is_anomaly.tolist(),
        "anomaly_score": scored.score.tolist(),
        "weights_x": None,
    }
    return body, runner


def online_anomaly_detection(
    req: OnlineAnomalyRequest, registry: ModelRegistry
) -> tuple[dict[str, Any], Runner]:
    """POST /v2/online_anomaly_detection: score the last ``detection_size`` points of
    each series, each against a forecast made from the points before its window."""
    if req.threshold_method != "univariate":
        raise InvalidInput("only threshold_method='univariate' is supported by tsad")
    step = req.step_size or req.h
    if req.detection_size < 1 or step < 1:
        raise InvalidInput("detection_size and step_size must be >= 1")
    levels = wire_levels([req.level])
    if levels[0] == 0:
        raise InvalidInput("level must be in (0, 100) for anomaly detection")
    runner = Runner(registry, req.model, req.freq)
    bands: list[Band] = []
    idxs: list[IntArray] = []
    offset = 0
    for y in split(req.series):
        n = y.shape[0]
        start = max(n - req.detection_size, 0)
        slot = np.full(n, -1)  # which window's forecast each point is scored against
        windows: list[Band] = []
        for cut in range(start, n, step):
            fc_band = runner.forecast(y[:cut], req.h, levels)
            slot[cut : cut + req.h] = len(windows)
            windows.append(fc_band)
        covered = np.flatnonzero(slot >= 0)
        # a point covered by several windows takes the latest (the most recent information)
        band = _gather(windows, slot[covered], covered - (start + step * slot[covered]))
        bands.append(band)
        idxs.append(offset + covered)
        offset += n
    y_all = np.asarray(req.series.y, np.float64)[np.concatenate(idxs)]
    scored = _score(y_all, bands, levels[0])
    body = {
        "idxs": np.concatenate(idxs).tolist(),
        "sizes": [len(b) for b in bands],
        "mean": scored.expected.tolist(),
        "intervals": intervals(bands, levels),
        "anomaly": scored.is_anomaly.tolist(),
        "anomaly_score": scored.score.tolist(),
    }
    return body, runner


def _gather(windows: Sequence[Band], which: IntArray, pos: IntArray) -> Band:
    """Pick point ``pos[i]`` of window ``which[i]`` for each i."""

    def pick(cols: Sequence[FloatArray]) -> FloatArray:
        return np.array([cols[w][p] for w, p in zip(which, pos, strict=True)], np.float64)

    levels = windows[0].levels if windows else []
    return Band(
        np.zeros(len(which), np.int64),
        pick([b.mean for b in windows]),
        {lv: pick([b.lo[lv] for b in windows]) for lv in levels},
        {lv: pick([b.hi[lv] for b in windows]) for lv in levels},
    )


def _score(y: FloatArray, bands: Sequence[Band], level: float) -> Scored:
    mean = np.concatenate([b.mean for b in bands])
    lo = np.concatenate([b.lo[level] for b in bands])
    hi = np.concatenate([b.hi[level] for b in bands])
    return score_against_band(np.zeros(y.shape[0], np.int64), y, mean, lo, hi, level)
