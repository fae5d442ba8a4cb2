"""TimeGPT's forecast routes (``/v2/forecast``, ``/v2/cross_validation``) answered by
tsad's local models, plus the ``Runner`` every TimeGPT-compatible answer uses to
call a forecaster with the ``stats`` fallback. Wire shapes: ``timegpt_compat``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tsad.detect import calibrate
from tsad.errors import BackendError, InvalidInput, NotEnoughPoints
from tsad.integrations.timegpt_compat import (
    CrossValidationRequest,
    ForecastRequest,
    SeriesPayload,
    local_model,
    step_for_freq,
    wire_levels,
)
from tsad.models.registry import ModelRegistry
from tsad.series import Band, FloatArray, Forecast, IntArray, Series, level_label
from tsad.types import Forecaster

# when the SDK asks for no intervals the stats model still needs one level to fit
_FIT_LEVEL = 80

# --------------------------------------------------------------------------- running


class Runner:
    """Runs one request's series through a local model, falling back to ``stats``."""

    def __init__(self, registry: ModelRegistry, model: str, freq: str) -> None:
        self.registry = registry
        self.model = local_model(model)
        self.step_ms = step_for_freq(freq)
        self.used: set[str] = set()
        self.degraded = False

    def history(self, y: FloatArray) -> Series:
        return Series(np.arange(y.shape[0], dtype=np.int64) * self.step_ms, y)

    def _run(self, call: Callable[[Forecaster], Forecast]) -> Band:
        name = self.registry.resolve(self.model)
        try:
            fc = call(self.registry.get(name))
        except (BackendError, ImportError, NotEnoughPoints):
            if name == "stats":
                raise
            fc = call(self.registry.get("stats"))
            self.degraded = True
        self.used.add(fc.model_used)
        return fc.band

    def forecast(self, y: FloatArray, h: int, levels: Sequence[float]) -> Band:
        """``h`` steps after ``y``."""
        hist = self.history(y)
        return self._run(lambda f: calibrate.forecast(f, hist, self.step_ms, h, levels))

    def insample(self, y: FloatArray, levels: Sequence[float]) -> Band:
        """The band over ``y``'s own points."""
        hist = self.history(y)
        return self._run(lambda f: calibrate.insample(f, hist, self.step_ms, levels))


def split(series: SeriesPayload) -> list[FloatArray]:
    y = np.asarray(series.y, np.float64)
    return np.split(y, np.cumsum(series.sizes)[:-1])


def _fit_levels(levels: list[float]) -> list[float]:
    return [x for x in levels if x > 0] or [_FIT_LEVEL]


def intervals(bands: Sequence[Band], levels: list[float]) -> dict[str, list[float]] | None:
    """Nixtla's interval columns; level 0 (the SDK's quantile 0.5) is the mean itself."""
    if not levels:
        return None
    out: dict[str, list[float]] = {}
    for level in levels:
        lab = level_label(level)
        for side, src in (("lo", "lo"), ("hi", "hi")):
            parts = [b.mean if level == 0 else getattr(b, src)[level] for b in bands]
            out[f"{side}-{lab}"] = _cat(parts)
    return out


def _cat(parts: Sequence[FloatArray]) -> list[float]:
    return np.concatenate(parts).tolist() if parts else []


def forecast(req: ForecastRequest, registry: ModelRegistry) -> tuple[dict[str, Any], Runner]:
    """POST /v2/forecast: ``h`` steps after each series."""
    levels, runner = wire_levels(req.level), Runner(registry, req.model, req.freq)
    fit = _fit_levels(levels)
    bands = [runner.forecast(y, req.h, fit) for y in split(req.series)]
    body = {
        "mean": _cat([b.mean for b in bands]),
        "intervals": intervals(bands, levels),
        "weights_x": None,
        "feature_contributions": None,
    }
    return body, runner


def cross_validation(
    req: CrossValidationRequest, registry: ModelRegistry
) -> tuple[dict[str, Any], Runner]:
    """POST /v2/cross_validation: rolling-origin forecasts, or the in-sample fit."""
    if req.full_history:
        return _history_fit(req.series, req.model, req.freq, wire_levels(req.level), registry)
    levels, runner = wire_levels(req.level), Runner(registry, req.model, req.freq)
    fit, step = _fit_levels(levels), req.step_size or req.h
    if req.n_windows < 1 or step < 1:
        raise InvalidInput("n_windows and step_size must be >= 1")
    bands: list[Band] = []
    idxs: list[IntArray] = []
    offset = 0
    for y in split(req.series):
        n = y.shape[0]
        first_cutoff = n - req.h - step * (req.n_windows - 1)
        if first_cutoff < 2:
            need = req.h + step * (req.n_windows - 1) + 2
            raise NotEnoughPoints(f"cross validation needs {need} points", needed=need, got=n)
        for w in range(req.n_windows):
            cut = first_cutoff + w * step
            bands.append(runner.forecast(y[:cut], req.h, fit))
            idxs.append(offset + np.arange(cut, cut + req.h, dtype=np.int64))
        offset += n
    body = {
        "idxs": np.concatenate(idxs).tolist(),
        "sizes": [req.n_windows * req.h] * len(req.series.sizes),
        "mean": _cat([b.mean for b in bands]),
        "intervals": intervals(bands, levels),
        "weights_x": None,
    }
    return body, runner


def in_sample(
    series: SeriesPayload, runner: Runner, fit: list[float]
) -> tuple[list[Band], list[IntArray]]:
    """Each series' in-sample band over its tail, dropping points the model left unfitted."""
    bands: list[Band] = []
    idxs: list[IntArray] = []
    offset = 0
    for y in split(series):
        band = runner.insample(y, fit)
        # the SDK aligns answers with each series' last `size` points: keep a fitted tail
        known = np.isfinite(np.column_stack(list(band.columns().values()))).all(axis=1)
        bad = np.flatnonzero(~known)
        start = int(bad[-1]) + 1 if bad.size else 0
        bands.append(band.slice(start, len(band)))
        idxs.append(offset + np.arange(start, y.shape[0], dtype=np.int64))
        offset += y.shape[0]
    return bands, idxs


def _history_fit(
    series: SeriesPayload, model: str, freq: str, levels: list[float], registry: ModelRegistry
) -> tuple[dict[str, Any], Runner]:
    runner = Runner(registry, model, freq)
    bands, idxs = in_sample(series, runner, _fit_levels(levels))
    body = {
        "idxs": np.concatenate(idxs).tolist(),
        "sizes": [len(b) for b in bands],
        "mean": _cat([b.mean for b in bands]),
        "intervals": intervals(bands, levels),
        "weights_x": None,
    }
    return body, runner
