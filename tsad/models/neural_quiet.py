"""Silence for torch/Lightning/neuralforecast: no "Seed set", "GPU available",
"`Trainer.fit` stopped" lines and no third-party warnings in service or CLI output.

Lightning logs through the ``pytorch_lightning`` and ``lightning_fabric`` loggers
(it attaches its own INFO handler at import, so levels are set after import);
the warnings silenced here are the specific ones those libraries raise on every
fit/predict and that tsad cannot fix from its side.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_LOGGERS = ("pytorch_lightning", "lightning_fabric", "lightning", "neuralforecast")

# (message regex, category) pairs raised by Lightning/torch internals on CPU fits
_WARNINGS: tuple[tuple[str, type[Warning]], ...] = (
    (r".*isinstance\(treespec, LeafSpec\).*", Warning),
    (r".*does not have many workers.*", Warning),
    (r".*val_check_steps is greater than max_steps.*", UserWarning),
    (r".*GPU available but not used.*", Warning),
    (r".*number of training batches.*is smaller than the logging interval.*", Warning),
)


def silence_loggers() -> None:
    """Raise Lightning's loggers to ERROR (idempotent; call after importing it)."""
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


@contextmanager
def quiet() -> Iterator[None]:
    """Run a fit/predict/build without Lightning chatter or its known warnings."""
    silence_loggers()
    with warnings.catch_warnings():
        for message, category in _WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield
