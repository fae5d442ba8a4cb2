"""Retraining the global neural models on every stored series (the slow cold path).

A neural forecaster is *global*: one model per kind, sampling step and horizon
serves every series (``tsad.models.neural``). The first series to need one gets
a *bootstrap* model fitted on its own history; this module replaces it with a
model trained on all stored series of that kind, and keeps it fresh:

* after each successful refit of a neural series, ``global_fit_due`` reads the
  global pointer (one small file) and, when there is no global model, it is a
  bootstrap, or it is older than ``neural_global_every_s``, queues a
  ``GlobalFitJob`` (``tsad.types``) on the ordinary refit queue, so the same
  de-duplicating queue — in process or the Redis Stream with its heartbeats and
  reclaims — carries it, and one replica or worker runs it once;
* ``fit_global`` (called by ``TsadService.run`` for such a job) reads the
  windows of up to ``neural_global_max_series`` series of that kind and step,
  trains one model for ``neural_global_steps`` steps in a model process of its
  own (so requests keep being served meanwhile), points the global model at it,
  and queues refits of those series so their stored bands use it.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsad.models.catalogue import as_global
from tsad.series import FloatArray, IntArray, Series
from tsad.settings import ModelSettings
from tsad.types import Forecaster, SeriesInfo

log = logging.getLogger("tsad.global_fit")


@dataclass(frozen=True)
class GlobalFitResult:
    """What one global fit did (logged, and returned to callers and tests)."""

    kind: str
    step_ms: int
    key: str
    series: int
    points: int
    seconds: float
    max_steps: int  # 0: each model's own default


def _horizon(step_ms: int) -> int:
    # the horizon stored bands are forecast for: the global model must serve it
    from tsad.detect.online import refit_horizon

    return refit_horizon(step_ms)


def global_fit_due(settings: ModelSettings, forecaster: Forecaster, step_ms: int) -> bool:
    """Whether ``forecaster`` (one with a global fit) needs a global fit at ``step_ms`` now."""
    every = settings.neural_global_every_s
    model = as_global(forecaster)
    if every <= 0 or model is None:
        return False
    return model.global_fit_due(step_ms, _horizon(step_ms), every)


def global_fit_job(
    settings: ModelSettings,
    kind: str,
    step_ms: int,
    histories: list[tuple[IntArray, FloatArray]],
) -> GlobalFitResult:
    """Runs in a model process: train ``kind`` on every history, make it the global model."""
    import time

    from tsad.runner import shared_registry

    forecaster = as_global(shared_registry(settings).get(kind))
    if forecaster is None:
        raise ValueError(f"model {kind!r} has no global fit")
    series = [Series(ts, y) for ts, y in histories]
    start = time.perf_counter()
    # the setting overrides; else the model's own choice for a global fit
    steps = settings.neural_global_steps or forecaster.global_steps
    extra: dict[str, Any] = {}
    if "keep_fresh_s" in inspect.signature(forecaster.fit_many).parameters:
        # a model of several networks keeps the members a cut-short attempt trained (a
        # retry comes within two deadlines of them); a due refresh is far older
        extra["keep_fresh_s"] = min(
            settings.neural_global_every_s / 2, 2 * settings.neural_global_deadline_s
        )
    key = forecaster.fit_many(series, step_ms, _horizon(step_ms), max_steps=steps, **extra)
    return GlobalFitResult(
        kind=kind,
        step_ms=step_ms,
        key=key,
        series=len(series),
        points=int(sum(s.y.shape[0] for s in series)),
        seconds=time.perf_counter() - start,
        max_steps=steps or 0,
    )


def pick_series(
    infos: Sequence[SeriesInfo],
    kind: str,
    step_ms: int,
    resolve: Callable[[str | None], str],
    limit: int,
) -> list[str]:
    """Ids of the series fitted with ``kind`` at ``step_ms``: the ``limit`` most
    recently updated, so a huge fleet trains on what is live."""
    chosen = []
    for info in infos:
        meta = info.meta
        try:
            model = resolve(meta.model)
        except Exception:  # a model name that no longer exists: not this kind
            continue
        if model == kind and meta.step_ms == step_ms:
            chosen.append((info.last or 0, info.series_id))
    chosen.sort(reverse=True)
    return [sid for _, sid in chosen[:limit]]


def regular(window: Series, step_ms: int) -> tuple[IntArray, FloatArray]:
    """A stored window on its regular grid (gaps filled) — what models train on."""
    from tsad.prepare import prepare

    p = prepare(window.ts, window.y, step_ms=step_ms, min_points=1)
    return p.regular.ts, np.asarray(p.regular.y, np.float64)
