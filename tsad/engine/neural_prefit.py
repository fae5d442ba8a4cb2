"""Fit once, predict everywhere: one global neural model for a batch run.

The catalogue's ``batch_prefit`` models (``nhits``, ``patchtst``) are global.
Before a batch run on many series (either engine) one model per sampling step is
fitted on the input's series (all of them, or an even sample of ``MAX_FIT_SERIES``)
and saved as the global model in the model directory; every per-series job then
finds it there and only predicts.
With a remote Dask scheduler the workers must see the same ``TSAD_MODEL_DIR``
(a shared volume), as replicas of the service already do.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tsad.errors import TsadError
from tsad.models.catalogue import as_global, prefit_models
from tsad.prepare import prepare
from tsad.runner import shared_registry
from tsad.series import Series
from tsad.settings import ModelSettings

if TYPE_CHECKING:
    from tsad.io import SeriesData

log = logging.getLogger("tsad.engine")

MAX_FIT_SERIES = 1_000


def even_sample(items: Sequence[Series], k: int) -> list[Series]:
    """At most ``k`` items spread evenly over ``items`` (deterministic)."""
    if len(items) <= k:
        return list(items)
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


def prefit_global(
    settings: ModelSettings,
    model: str | None,
    series: Sequence[SeriesData],
    freq: str | None,
    h: int | None,
) -> list[str]:
    """Fit and save the global model for each step in ``series``; returns the model keys.

    Nothing happens for non-neural models. A step whose fit fails is logged and
    skipped: its series then go through the job's usual fallback.
    """
    registry = shared_registry(settings)
    name = registry.resolve(model)
    if name not in prefit_models():
        return []
    forecaster = as_global(registry.get(name))
    if forecaster is None:
        return []
    by_step: dict[int, list[Series]] = {}
    for s in series:
        try:
            p = prepare(s.ts, s.y, freq=freq, min_points=settings.min_points)
        except TsadError:
            continue  # the job reports this series
        by_step.setdefault(p.step_ms, []).append(p.regular)
    keys: list[str] = []
    for step_ms, histories in by_step.items():
        try:
            keys.append(
                str(forecaster.fit_many(even_sample(histories, MAX_FIT_SERIES), step_ms, h))
            )
        except (TsadError, ImportError) as exc:
            log.warning("no global %s model for step %d ms: %s", name, step_ms, exc)
    return keys
