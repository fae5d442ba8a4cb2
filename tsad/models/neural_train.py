"""Fitting a global neural model on many series (the cold path).

Training goes through neuralforecast's ``NeuralForecast.fit`` (Lightning under
the hood), quietly, with torch using every core for the duration of the fit;
prediction afterwards never touches the Trainer (``neural_fast``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsad.models.neural_quiet import quiet
from tsad.models.neural_spec import NeuralSpec, build_module
from tsad.series import FloatArray

#: ``progress(step, total)`` — called after every training step (CLI progress bars)
Progress = Callable[[int, int], None]


@dataclass
class Fitted:
    """A trained module (in eval mode) and the NeuralForecast object that trained it."""

    module: Any
    nf: Any
    seconds: float


def training_frame(ys: Sequence[FloatArray]) -> Any:
    """Nixtla long format with integer time steps (``freq=1``): the grid is regular,
    so real timestamps add nothing but pandas frequency handling."""
    import pandas as pd

    ids = np.concatenate([np.full(y.shape[0], i, np.int64) for i, y in enumerate(ys)])
    ds = np.concatenate([np.arange(y.shape[0], dtype=np.int64) for y in ys])
    return pd.DataFrame({"unique_id": ids, "ds": ds, "y": np.concatenate(ys).astype(np.float32)})


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Use ``n`` intra-op threads (0 = every core) inside the block, then restore."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n if n > 0 else (os.cpu_count() or 1))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _progress_callback(progress: Progress, total: int) -> Any:
    import pytorch_lightning as pl

    class _Progress(pl.Callback):
        def on_train_batch_end(self, trainer: Any, *args: Any, **kwargs: Any) -> None:
            progress(int(trainer.global_step), total)

    return _Progress()


def fit_module(
    spec: NeuralSpec,
    ys: Sequence[FloatArray],
    *,
    threads: int = 1,
    progress: Progress | None = None,
) -> Fitted:
    """Train one model on all of ``ys`` (each at least ``input_size + h`` long)."""
    from neuralforecast import NeuralForecast

    model = build_module(spec)
    if progress:
        # added after construction: as a constructor argument the callback would
        # land in the (pickled) hyperparameters, and Lightning warns about that
        model.trainer_kwargs["callbacks"] = [_progress_callback(progress, spec.max_steps)]
    frame = training_frame(ys)
    start = time.perf_counter()
    with torch_threads(threads), quiet():
        nf = NeuralForecast(models=[model], freq=1)
        nf.fit(frame, val_size=0)
    module = nf.models[0]
    module.eval()
    # the progress callback is a closure over the caller: do not keep it around
    module.trainer_kwargs.pop("callbacks", None)
    return Fitted(module, nf, time.perf_counter() - start)
