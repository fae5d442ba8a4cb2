"""Local neural forecasters, ``nhits`` and ``patchtst``, behind the Forecaster protocol.

Both are *global* models: one fit serves many series (each input window is
robust-scaled, so magnitudes do not matter). A forecaster finds a model for a
request in this order, and fits only when all miss:

1. in memory, by key (spec + step + exact training data);
2. on disk under the model directory (another process or replica fitted it);
3. the *global* model for this spec and step, trained by ``fit_many`` — the
   worker's job, so the request path normally never fits;
4. a fit on the request's own history (a few seconds with the default steps),
   saved for reuse; when there is no global model yet it becomes the global
   one (a bootstrap), so a series is fitted the first time it is seen, not on
   every request, until ``fit_many`` trains a proper global model.

Prediction runs the bare torch module (``neural_fast``), never Lightning.

``insample`` (batch detection) is a rolling one-step-ahead forecast: the point at
index ``t`` gets the band forecast from points ``t - input_size .. t - 1``.
Points inside the first input window have no band (NaN: not scored).

Torch threads, set deliberately: predicting uses ``neural_threads`` intra-op
threads (default 1 — a forward pass on one window is sub-millisecond and one
thread leaves the other core to concurrent requests); fitting uses
``neural_fit_threads`` (default 1, 0 = every core) and restores the predict
setting afterwards. One fit thread is deliberate: on this shared 2-core box a
100-step NHITS fit took 4.3 s with 1 thread and 48-54 s with 2 while another
process kept a core busy (OpenMP threads spin-waiting on a stolen core). In
the service both run in the model worker process; the API process never imports
torch unless configured to run models in threads.

Too little history raises ``NotEnoughPoints`` (needed/got): the service then
falls back to ``stats`` with ``degraded: true``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from tsad.detect.calibrate import floor_band
from tsad.errors import InvalidInput, ModelFailed, NotEnoughPoints
from tsad.models.neural_fast import (
    band_from_quantiles,
    input_windows,
    join_bands,
    nan_band,
    predict_many,
    rolling_one_step,
    sorted_probs,
)
from tsad.models.neural_spec import NeuralSpec, Variant, make_spec
from tsad.models.neural_store import ModelStore, data_digest, model_key, resolve_dir
from tsad.models.neural_train import Progress, fit_module
from tsad.series import FloatArray, Forecast, Series, check_levels
from tsad.settings import ModelSettings

_threads_lock = threading.Lock()
_threads_set = False


def _set_predict_threads(n: int) -> None:
    """Pin torch's intra-op threads once per process (the first model use)."""
    global _threads_set
    with _threads_lock:
        if _threads_set:
            return
        import torch

        torch.set_num_threads(max(1, n))
        _threads_set = True


class NeuralForecaster:
    """A neuralforecast model (``kind``) with fit-once, predict-bare semantics."""

    kind: ClassVar[str] = ""
    #: training steps of a global fit (``tsad.global_fit``) unless settings say otherwise
    global_steps: ClassVar[int] = 1_000

    def __init__(
        self,
        settings: ModelSettings | None = None,
        *,
        max_steps: int | None = None,
        seed: int = 1,
        cache_size: int = 16,
        variant: Variant | None = None,
        tag: str = "",
    ) -> None:
        self.settings = settings or ModelSettings()
        #: names this network's global model apart from others of the same spec
        #: (the members of a seed bag): their pointers differ only by tag
        self.tag = tag
        self.name = self.kind
        self.max_steps = max_steps or self.settings.neural_max_steps
        self.seed = seed
        self.variant = variant
        self.threads = self.settings.neural_threads
        self.fit_threads = self.settings.neural_fit_threads
        self.store = ModelStore(resolve_dir(self.settings.model_dir))
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cache_size = cache_size
        self._specs: dict[tuple[int, int | None], NeuralSpec] = {}
        # one fit at a time per forecaster: on 2 cores parallel fits only thrash
        self._lock = threading.RLock()

    # ------------------------------------------------------------ protocol

    def spec(self, step_ms: int, h: int | None = None) -> NeuralSpec:
        """The spec this forecaster uses at ``step_ms`` for horizon ``h`` (memoised:
        its digests are on the hot path)."""
        spec = self._specs.get((step_ms, h))
        if spec is None:
            spec = make_spec(
                self.kind,
                step_ms,
                h,
                max_steps=self.max_steps,
                seed=self.seed,
                variant=self.variant,
            )
            self._specs[(step_ms, h)] = spec
        return spec

    def min_points(self, step_ms: int) -> int:
        """Points needed to fit a model on one series: one input window plus a horizon."""
        spec = self.spec(step_ms)
        return spec.input_size + spec.h

    def forecast(self, history: Series, step_ms: int, h: int, levels: Sequence[float]) -> Forecast:
        return self.forecast_many([history], step_ms, h, levels, fit_if_missing=True)[0]

    def insample(self, history: Series, step_ms: int, levels: Sequence[float]) -> Forecast:
        """Rolling one-step-ahead bands; NaN for the first ``input_size`` points."""
        lv = check_levels(levels)
        spec, module = self._model(self.spec(step_ms), step_ms, [self._fit_part(history).y])
        L = spec.input_size
        _need(len(history), L + 1, f"{self.kind} needs", "for in-sample bands")
        q = rolling_one_step(module, history.y, L)
        fitted = band_from_quantiles(history.ts[L:], _probs(module), q, lv)
        return Forecast(join_bands(nan_band(history.ts[:L], lv), fitted), self.name)

    # ------------------------------------------------------------ batch API

    def fit_many(
        self,
        histories: Sequence[Series],
        step_ms: int,
        h: int | None = None,
        *,
        max_steps: int | None = None,
        progress: Progress | None = None,
    ) -> str:
        """Fit one global model on every history long enough; make it the global
        model for this spec and step. Returns the model key (reused if on disk).

        ``max_steps`` overrides the default (short, request-path) training length:
        a worker fitting many series can afford more steps.
        """
        spec = self.spec(step_ms, h)
        if max_steps:
            spec = replace(spec, max_steps=max_steps)
        need = spec.input_size + spec.h
        ys = [p.y for p in (self._fit_part(s) for s in histories) if len(p) >= need]
        if not ys:
            longest = max((len(s) for s in histories), default=0)
            raise NotEnoughPoints(
                f"{self.kind} needs at least {need} points in a series to fit, got {longest}",
                needed=need,
                got=longest,
            )
        with self._lock:
            key = model_key(spec, step_ms, data_digest(ys, step_ms))
            if self._load(spec.kind, key) is None:
                self._fit(spec, step_ms, ys, key, progress)
            self.store.set_global(spec, step_ms, key, series=len(ys), tag=self.tag)
            return key

    def forecast_many(
        self,
        histories: Sequence[Series],
        step_ms: int,
        h: int,
        levels: Sequence[float],
        *,
        fit_if_missing: bool = True,
    ) -> list[Forecast]:
        """Forecast ``h`` steps for every history with one batched forward pass.

        Uses the global model (fitting one on ``histories`` when there is none and
        ``fit_if_missing``); for a single history, an exact-data model first.
        """
        lv = check_levels(levels)
        parts, module, q = self.quantiles_many(histories, step_ms, h, fit_if_missing=fit_if_missing)
        # one band computation for all series, then a slice each
        steps = step_ms * np.arange(1, h + 1, dtype=np.int64)
        ts = np.concatenate([p.ts[-1] + steps for p in parts]) if parts else steps[:0]
        flat = q[:, :h].reshape(len(parts) * h, -1)
        band = band_from_quantiles(ts, _probs(module), flat, lv)
        # like every model: not forecast below anything the fit window has shown
        return [
            Forecast(floor_band(band.slice(i * h, (i + 1) * h), float(np.min(p.y))), self.name)
            for i, p in enumerate(parts)
        ]

    def point_many(
        self, histories: Sequence[Series], step_ms: int, h: int, *, fit_if_missing: bool = False
    ) -> FloatArray:
        """Median forecasts ``[len(histories), h]`` (no band): what an ensemble member
        contributes. Without a global model and ``fit_if_missing`` this raises
        ``NotEnoughPoints`` instead of fitting on the request."""
        _, module, q = self.quantiles_many(histories, step_ms, h, fit_if_missing=fit_if_missing)
        median = int(np.argmin(np.abs(_probs(module) - 0.5)))
        return np.asarray(q[:, :h, median], np.float64)

    def quantiles_many(
        self, histories: Sequence[Series], step_ms: int, h: int, *, fit_if_missing: bool = False
    ) -> tuple[list[Series], Any, FloatArray]:
        """The fit windows, the module and its sorted quantiles ``[len(histories),
        spec.h, Q]`` for each history."""
        parts, spec, module = self.resolve(histories, step_ms, h, fit_if_missing=fit_if_missing)
        q = predict_many([module], input_windows(parts, spec.input_size), spec.h)[0]
        return parts, module, q

    def resolve(
        self,
        histories: Sequence[Series],
        step_ms: int,
        h: int,
        *,
        fit_if_missing: bool = False,
        global_only: bool = False,
    ) -> tuple[list[Series], NeuralSpec, Any]:
        """The fit windows of ``histories`` and the (spec, module) that forecasts them:
        for one history an exact-data model first (unless ``global_only``), else the
        global model, fitted on the request when there is none and ``fit_if_missing``.
        Raises ``NotEnoughPoints`` when a history is shorter than the input window."""
        if h < 1:
            raise InvalidInput(f"h must be at least 1, got {h}")
        spec = self.spec(step_ms, h)
        parts = [self._fit_part(s) for s in histories]
        if len(parts) == 1 and not global_only:
            spec, module = self._model(spec, step_ms, [parts[0].y], fit=fit_if_missing)
        else:
            with self._lock:
                found = self._global(spec, step_ms)
                if found is None:
                    if not fit_if_missing:
                        raise NotEnoughPoints("no fitted global model", needed=1, got=0)
                    self.fit_many(histories, step_ms, h)
                    found = self._global(spec, step_ms)
            if found is None:
                raise ModelFailed(f"the {self.kind} model could not be loaded after fitting")
            spec, module = found
        for p in parts:
            _need(len(p), spec.input_size, f"{self.kind} needs", "to forecast")
        return parts, spec, module

    def global_fit_due(self, step_ms: int, h: int | None, every_s: float) -> bool:
        """Whether the global model for this step and horizon should be retrained on
        every stored series: there is none, it is a one-series bootstrap, or it is
        older than ``every_s`` seconds. Reads one small file; never imports torch."""
        pointer = self.store.global_pointer(self.spec(step_ms, h), step_ms, self.tag)
        if pointer is None or pointer.get("bootstrap"):
            return True
        at = pointer.get("at")
        return not isinstance(at, int | float) or time.time() - float(at) >= every_s

    # ------------------------------------------------------------ models

    def _fit_part(self, history: Series) -> Series:
        return history.tail(self.settings.fit_window)

    def _model(
        self, spec: NeuralSpec, step_ms: int, ys: list[FloatArray], *, fit: bool = True
    ) -> tuple[NeuralSpec, Any]:
        _set_predict_threads(self.threads)
        with self._lock:
            key = model_key(spec, step_ms, data_digest(ys, step_ms))
            found = self._load(spec.kind, key) or self._global(spec, step_ms)
            if found is not None:
                return found
            need = spec.input_size + spec.h
            _need(min(y.shape[0] for y in ys), need, f"{self.kind} needs", "to fit a model")
            if not fit:
                raise NotEnoughPoints(f"no fitted {self.kind} model", needed=need, got=0)
            found = self._fit(spec, step_ms, ys, key, None)
            # bootstrap: with no global model yet, this fit becomes it, so the
            # next request (a grown series, another series, an online replay)
            # predicts instead of fitting again; fit_many replaces it
            if self.store.global_key(spec, step_ms, self.tag) is None:
                self.store.set_global(
                    spec, step_ms, key, series=len(ys), bootstrap=True, tag=self.tag
                )
            return found

    def _global(self, spec: NeuralSpec, step_ms: int) -> tuple[NeuralSpec, Any] | None:
        key = self.store.global_key(spec, step_ms, self.tag)
        return self._load(spec.kind, key) if key else None

    def _load(self, kind: str, key: str) -> tuple[NeuralSpec, Any] | None:
        _set_predict_threads(self.threads)
        hit = self._cache.get(key)
        if hit is None:
            hit = self.store.load(kind, key)
            if hit is None:
                return None
            self._remember(key, hit)
        else:
            self._cache.move_to_end(key)
        return hit

    def _remember(self, key: str, value: tuple[NeuralSpec, Any]) -> None:
        self._cache[key] = value
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _fit(
        self,
        spec: NeuralSpec,
        step_ms: int,
        ys: list[FloatArray],
        key: str,
        progress: Progress | None,
    ) -> tuple[NeuralSpec, Any]:
        fitted = fit_module(spec, ys, threads=self.fit_threads, progress=progress)
        self.store.save(
            key,
            spec,
            fitted.module,
            step_ms=step_ms,
            digest=data_digest(ys, step_ms),
            series=len(ys),
            points=sum(int(y.shape[0]) for y in ys),
            fit_seconds=fitted.seconds,
        )
        self._remember(key, (spec, fitted.module))
        return spec, fitted.module


class NHITSForecaster(NeuralForecaster):
    """NHITS (MLP with hierarchical interpolation): fast to fit, the neural default."""

    kind = "nhits"


class PatchTSTForecaster(NeuralForecaster):
    """PatchTST (a light patch transformer): slower to fit, same predict path. One
    network; ``model=patchtst`` serves four of them (``tsad.models.patchtst_bag``)."""

    kind = "patchtst"
    #: M4 Hourly hold-out, 14-day input, robust scaler: OWA 0.763 at 300 steps, 0.732
    #: at 1,500; standard scaler 0.599 at 1,500 (benchmarks/README.md, "PatchTST search")
    global_steps: ClassVar[int] = 1_500


def _probs(module: Any) -> FloatArray:
    return sorted_probs(module)


def _need(got: int, needed: int, who: str, purpose: str) -> None:
    if got < needed:
        raise NotEnoughPoints(
            f"{who} at least {needed} points {purpose}, got {got}", needed=needed, got=got
        )
