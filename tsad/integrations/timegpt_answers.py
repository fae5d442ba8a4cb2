"""TimeGPT's routes answered by ``TsadService``: a thin translator. Each request
(decoded by ``timegpt_compat``, which holds the wire types) becomes one service
call over all its series, and the outcomes are laid out the way the SDK reads them.

The models, the ``stats`` fallback, the online replay and the detection contract
are the service's: ``anomaly`` is tsad's flag and ``anomaly_score`` tsad's score
in [0, 1] (``anomaly == anomaly_score >= threshold`` at the default sensitivity),
and the intervals of the anomaly routes are the band those flags are drawn
against. ``online_anomaly_detection`` scores each series with tsad's online mode
(every point from the points before it; the service's own refit cadence, not the
request's ``h``/``step_size``) and answers its last ``detection_size`` points.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsad.errors import InvalidInput, NotEnoughPoints
from tsad.integrations.timegpt_compat import (
    AnomalyRequest,
    CrossValidationRequest,
    ForecastRequest,
    OnlineAnomalyRequest,
    SeriesPayload,
    local_model,
    step_for_freq,
    wire_levels,
)
from tsad.jobs import DetectOutcome, ForecastOutcome
from tsad.series import Band, FloatArray, IntArray, Scored, level_label
from tsad.service import TsadService

# when the SDK asks for no intervals the stats model still needs one level to fit
_FIT_LEVEL = 80.0


@dataclass(frozen=True)
class Answer:
    """A wire body and what ran (the ``tsad-model-used`` / ``tsad-degraded`` headers)."""

    body: dict[str, Any]
    used: list[str]
    degraded: bool


def _split(series: SeriesPayload, step_ms: int) -> list[tuple[IntArray, FloatArray]]:
    """The SDK's concatenated values → one (timestamps, values) per series; the SDK
    keeps timestamps to itself, so they are rebuilt on the request's step."""
    y = np.asarray(series.y, np.float64)
    parts = np.split(y, np.cumsum(series.sizes)[:-1])
    return [(np.arange(p.shape[0], dtype=np.int64) * step_ms, p) for p in parts]


def _fit_levels(levels: list[float]) -> list[float]:
    return [float(x) for x in levels if x > 0] or [_FIT_LEVEL]


def _cat(parts: Sequence[FloatArray]) -> list[float]:
    return np.concatenate(parts).tolist() if parts else []


def _intervals(bands: Sequence[Band], levels: list[float]) -> dict[str, list[float]] | None:
    """Nixtla's interval columns; level 0 (the SDK's quantile 0.5) is the mean itself."""
    if not levels:
        return None
    out: dict[str, list[float]] = {}
    for level in levels:
        lab = level_label(level)
        out[f"lo-{lab}"] = _cat([b.mean if level == 0 else b.lo[level] for b in bands])
        out[f"hi-{lab}"] = _cat([b.mean if level == 0 else b.hi[level] for b in bands])
    return out


def _ran(outcomes: Sequence[ForecastOutcome | DetectOutcome]) -> tuple[list[str], bool]:
    used = sorted({o.report.model_used for o in outcomes})
    return used, any(o.report.degraded for o in outcomes)


def _anomaly_level(raw: float) -> float:
    level = wire_levels([raw])[0]
    if level == 0:
        raise InvalidInput("level must be in (0, 100) for anomaly detection")
    return float(level)


async def forecast(service: TsadService, req: ForecastRequest) -> Answer:
    """POST /v2/forecast: ``h`` steps after each series."""
    levels = wire_levels(req.level)
    series = _split(req.series, step_for_freq(req.freq))
    out = await service.forecast_each(
        series, h=req.h, levels=_fit_levels(levels), model=local_model(req.model)
    )
    bands = [o.band for o in out]
    body = {
        "mean": _cat([b.mean for b in bands]),
        "intervals": _intervals(bands, levels),
        "weights_x": None,
        "feature_contributions": None,
    }
    return Answer(body, *_ran(out))


async def cross_validation(service: TsadService, req: CrossValidationRequest) -> Answer:
    """POST /v2/cross_validation: rolling-origin forecasts, or the in-sample fit
    (``full_history``: each series' fitted tail)."""
    levels = wire_levels(req.level)
    series = _split(req.series, step_for_freq(req.freq))
    model = local_model(req.model)
    if req.full_history:
        return await _history_fit(service, series, model, levels)
    step = req.step_size or req.h
    if req.n_windows < 1 or step < 1:
        raise InvalidInput("n_windows and step_size must be >= 1")
    windows: list[tuple[IntArray, FloatArray]] = []
    idxs: list[IntArray] = []
    offset = 0
    for ts, y in series:
        n = y.shape[0]
        first_cutoff = n - req.h - step * (req.n_windows - 1)
        if first_cutoff < 2:
            need = req.h + step * (req.n_windows - 1) + 2
            raise NotEnoughPoints(f"cross validation needs {need} points", needed=need, got=n)
        for w in range(req.n_windows):
            cut = first_cutoff + w * step
            windows.append((ts[:cut], y[:cut]))
            idxs.append(offset + np.arange(cut, cut + req.h, dtype=np.int64))
        offset += n
    out = await service.forecast_each(windows, h=req.h, levels=_fit_levels(levels), model=model)
    bands = [o.band for o in out]
    body = {
        "idxs": np.concatenate(idxs).tolist(),
        "sizes": [req.n_windows * req.h] * len(req.series.sizes),
        "mean": _cat([b.mean for b in bands]),
        "intervals": _intervals(bands, levels),
        "weights_x": None,
    }
    return Answer(body, *_ran(out))


async def _history_fit(
    service: TsadService,
    series: list[tuple[IntArray, FloatArray]],
    model: str,
    levels: list[float],
) -> Answer:
    out = await service.forecast_each(
        series, h=1, levels=_fit_levels(levels), model=model, insample=True
    )
    bands: list[Band] = []
    idxs: list[IntArray] = []
    offset = 0
    for o, (_, y) in zip(out, series, strict=True):
        band = o.band
        # the SDK aligns answers with each series' last `size` points: keep a fitted tail
        known = np.isfinite(np.column_stack(list(band.columns().values()))).all(axis=1)
        bad = np.flatnonzero(~known)
        start = int(bad[-1]) + 1 if bad.size else 0
        bands.append(band.slice(start, len(band)))
        idxs.append(offset + np.arange(start, y.shape[0], dtype=np.int64))
        offset += y.shape[0]
    body = {
        "idxs": np.concatenate(idxs).tolist(),
        "sizes": [len(b) for b in bands],
        "mean": _cat([b.mean for b in bands]),
        "intervals": _intervals(bands, levels),
        "weights_x": None,
    }
    return Answer(body, *_ran(out))


def _scored_body(parts: list[Scored], level: float) -> dict[str, Any]:
    lab = level_label(level)
    return {
        "sizes": [int(p.ts.shape[0]) for p in parts],
        "mean": _cat([p.expected for p in parts]),
        "intervals": {
            f"lo-{lab}": _cat([p.lo for p in parts]),
            f"hi-{lab}": _cat([p.hi for p in parts]),
        },
        "anomaly": np.concatenate([p.is_anomaly for p in parts]).tolist() if parts else [],
        "anomaly_score": _cat([p.score for p in parts]),
    }


async def anomaly_detection(service: TsadService, req: AnomalyRequest) -> Answer:
    """POST /v2/anomaly_detection: tsad's batch detection of every point."""
    level = _anomaly_level(req.level)
    series = _split(req.series, step_for_freq(req.freq))
    out = await service.detect_each(series, level=level, model=local_model(req.model))
    body = {**_scored_body([o.scored for o in out], level), "weights_x": None}
    return Answer(body, *_ran(out))


async def online_anomaly_detection(service: TsadService, req: OnlineAnomalyRequest) -> Answer:
    """POST /v2/online_anomaly_detection: tsad's online detection (each point from the
    points before it); the last ``detection_size`` points of each series."""
    if req.threshold_method != "univariate":
        raise InvalidInput("only threshold_method='univariate' is supported by tsad")
    if req.detection_size < 1 or (req.step_size is not None and req.step_size < 1):
        raise InvalidInput("detection_size and step_size must be >= 1")
    level = _anomaly_level(req.level)
    series = _split(req.series, step_for_freq(req.freq))
    out = await service.detect_each(
        series, level=level, model=local_model(req.model), mode="online"
    )
    parts: list[Scored] = []
    idxs: list[IntArray] = []
    offset = 0
    for o, (_, y) in zip(out, series, strict=True):
        n = y.shape[0]
        start = max(n - req.detection_size, 0)
        parts.append(o.scored.take(slice(start, n)))
        idxs.append(offset + np.arange(start, n, dtype=np.int64))
        offset += n
    body = {"idxs": np.concatenate(idxs).tolist(), **_scored_body(parts, level)}
    return Answer(body, *_ran(out))


HANDLERS: dict[str, Callable[[TsadService, Any], Awaitable[Answer]]] = {
    "forecast": forecast,
    "cross_validation": cross_validation,
    "anomaly_detection": anomaly_detection,
    "online_anomaly_detection": online_anomaly_detection,
}
