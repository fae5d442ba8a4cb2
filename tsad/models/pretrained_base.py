"""``tsad-base``: a small PatchTST pretrained on public data and shipped in the
package, so a series with only days of history gets a neural forecast with no
fit and no download (zero-shot).

The weights and their spec live in ``tsad/models/pretrained/patchtst/``
(``tsad-base.safetensors`` + ``tsad-base.json``, read through the same
``ModelStore`` that keeps fitted models); ``benchmarks/train_tsad_base.py``
reproduces them (seeded half of M4 Hourly; licence and provenance in
``tsad/models/pretrained/LICENSE-weights.md``). The network was trained on
hourly data with a daily season and two weeks of input, so its input is counted
in *seasons*: a history between ``MIN_SEASONS`` seasons and one input window is
extended backwards by repeating its first season (a periodic back-cast) before the
forward pass. The network forecasts the correction to the last day repeated
(``naive_skip`` in its spec, ``tsad.models.neural_skip``), so it was trained — and
is meant — for hourly data. Horizons beyond the trained one are reached by feeding
the median back in. Its raw quantiles are too narrow on short, padded histories;
served bands are widened by ``WIDEN_BY_SEASONS`` (measured on held-back training
series, not on the series the figures are scored on). Forecasts a global model
cannot serve yet reach it through ``tsad.models.short_history``.

Figures (accuracy against ``stats`` and seasonal naive on truncated histories, and
predict latency): benchmarks/README.md, "Bundled model".
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from tsad.detect.calibrate import clip_to_range, floor_band, widen
from tsad.errors import NotEnoughPoints
from tsad.models.neural_fast import (
    CHUNK,
    band_from_quantiles,
    join_bands,
    nan_band,
    predict_windows,
    sorted_probs,
)
from tsad.models.neural_spec import NeuralSpec
from tsad.models.neural_store import ModelStore
from tsad.series import FloatArray, Forecast, Series, check_levels, season_length
from tsad.settings import ModelSettings

NAME = "tsad-base"
#: shortest history served: two seasons (hourly: 2 days)
MIN_SEASONS = 2

#: (history in seasons, factor on every level's half-widths): the raw quantiles are too
#: narrow on short, padded histories, so each band is widened by the factor that made
#: the 95% band cover 95% on the validation third of the pretraining half (interpolated
#: between lengths, constant outside); ``benchmarks/tsad_base_search.py calibrate``
WIDEN_BY_SEASONS: tuple[tuple[float, float], ...] = (
    (2, 2.923),
    (4, 2.106),
    (7, 1.310),
    (13, 1.100),
)

_lock = threading.Lock()
_loaded: dict[Path, tuple[NeuralSpec, Any]] = {}


def bundled_dir() -> Path:
    """Where the shipped weights live (inside the installed package)."""
    return Path(str(files("tsad.models") / "pretrained"))


def load_bundled(root: Path | None = None) -> tuple[NeuralSpec, Any]:
    """The bundled spec and module (eval mode), loaded once per process."""
    where = root or bundled_dir()
    with _lock:
        hit = _loaded.get(where)
        if hit is None:
            found = ModelStore(where).load("patchtst", NAME)
            if found is None:
                raise FileNotFoundError(f"no bundled {NAME} weights under {where}")
            _loaded[where] = hit = found
        return hit


def widen_factor(seasons: float) -> float:
    """How much the bands of a ``seasons``-long history are widened (≥ 1)."""
    at, factor = zip(*WIDEN_BY_SEASONS, strict=True)
    return max(1.0, float(np.interp(seasons, at, factor)))


def periodic_pad(y: FloatArray, length: int, season: int) -> FloatArray:
    """``y`` extended at the front to ``length`` points by repeating its first season."""
    if y.shape[0] >= length:
        return y[-length:]
    head = y[: min(season, y.shape[0])]
    reps = -(-(length - y.shape[0]) // head.shape[0])
    return np.concatenate([np.tile(head, reps), y])[-length:]


class BaseModelForecaster:
    """Zero-shot forecasts from the bundled ``tsad-base`` network."""

    name = NAME

    def __init__(
        self,
        settings: ModelSettings | None = None,
        *,
        root: Path | None = None,
        calibrated: bool = True,
    ) -> None:
        self.settings = settings or ModelSettings()
        self.root = root
        #: False: the network's raw quantiles (what the calibration is measured on)
        self.calibrated = calibrated

    def _model(self) -> tuple[NeuralSpec, Any]:
        # the same intra-op thread pinning as the other neural models (default 1)
        from tsad.models.neural import _set_predict_threads

        _set_predict_threads(self.settings.neural_threads)
        return load_bundled(self.root)

    def min_points(self, step_ms: int) -> int:
        return MIN_SEASONS * max(1, season_length(step_ms))

    def _windows(self, histories: Sequence[Series], step_ms: int, length: int) -> FloatArray:
        need = self.min_points(step_ms)
        season = max(1, season_length(step_ms))
        rows = []
        for s in histories:
            if len(s) < need:
                raise NotEnoughPoints(
                    f"{NAME} needs at least {need} points ({MIN_SEASONS} seasons), got {len(s)}",
                    needed=need,
                    got=len(s),
                )
            rows.append(periodic_pad(s.y, length, season))
        return np.stack(rows)

    def quantiles(self, histories: Sequence[Series], step_ms: int, h: int) -> FloatArray:
        """Sorted quantiles ``[len(histories), h, Q]``; past the trained horizon the
        median is appended to the window and the network run again."""
        spec, module = self._model()
        x = self._windows(histories, step_ms, spec.input_size)
        probs = sorted_probs(module)
        median = int(np.argmin(np.abs(probs - 0.5)))
        parts: list[FloatArray] = []
        done = 0
        while done < h:
            q = predict_windows(module, x)
            parts.append(q)
            done += q.shape[1]
            x = np.concatenate([x, q[:, :, median]], axis=1)[:, -spec.input_size :]
        return np.concatenate(parts, axis=1)[:, :h]

    def forecast_many(
        self, histories: Sequence[Series], step_ms: int, h: int, levels: Sequence[float]
    ) -> list[Forecast]:
        lv = check_levels(levels)
        _, module = self._model()
        q = self.quantiles(histories, step_ms, h)
        steps = step_ms * np.arange(1, h + 1, dtype=np.int64)
        season = max(1, season_length(step_ms))
        out = []
        for i, s in enumerate(histories):
            band = band_from_quantiles(s.ts[-1] + steps, sorted_probs(module), q[i], lv)
            if self.calibrated:
                factor = widen_factor(len(s) / season)
                band = widen(band, dict.fromkeys(lv, factor))
            # not below anything the history has shown, never below zero for a count
            floored = floor_band(band, float(np.min(s.y)))
            out.append(Forecast(clip_to_range(floored, s.y), self.name))
        return out

    def forecast(self, history: Series, step_ms: int, h: int, levels: Sequence[float]) -> Forecast:
        return self.forecast_many([history], step_ms, h, levels)[0]

    def insample(self, history: Series, step_ms: int, levels: Sequence[float]) -> Forecast:
        """Rolling one-step-ahead bands from each point's own past (padded like a
        forecast); NaN for the first ``MIN_SEASONS`` seasons."""
        lv = check_levels(levels)
        spec, module = self._model()
        need = self.min_points(step_ms)
        if len(history) <= need:
            return Forecast(nan_band(history.ts, lv), self.name)
        season = max(1, season_length(step_ms))
        L = spec.input_size
        ends = range(need, len(history))
        windows = np.stack([periodic_pad(history.y[:t], L, season) for t in ends])
        starts = range(0, windows.shape[0], CHUNK)
        q = np.concatenate([predict_windows(module, windows[i : i + CHUNK])[:, 0] for i in starts])
        fitted = band_from_quantiles(history.ts[need:], sorted_probs(module), q, lv)
        head = nan_band(history.ts[:need], lv)
        return Forecast(join_bands(head, fitted), self.name)
