"""Registry of forecasters by name. Backends are imported on first use, so
``import tsad`` never pulls in torch, neuralforecast or nixtla."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

from tsad.errors import UnknownModel
from tsad.settings import ModelSettings
from tsad.types import Forecaster

MODEL_NAMES = ("auto", "stats", "nhits", "patchtst", "ensemble", "timegpt", "tsad-base")

# name → "module:factory"; a factory takes ModelSettings and returns a Forecaster
_BACKENDS: dict[str, str] = {
    "stats": "tsad.models.stats:StatsForecaster",
    "nhits": "tsad.models.neural:NHITSForecaster",
    "patchtst": "tsad.models.neural:PatchTSTForecaster",
    "ensemble": "tsad.models.ensemble:EnsembleForecaster",
    "timegpt": "tsad.models.timegpt:TimeGPTForecaster",
    "tsad-base": "tsad.models.pretrained_base:BaseModelForecaster",
}


class ModelRegistry:
    """Hands out one forecaster instance per name, created on first use."""

    def __init__(self, settings: ModelSettings | None = None) -> None:
        self.settings = settings or ModelSettings()
        self._instances: dict[str, Forecaster] = {}
        self._lock = threading.Lock()
        self._overrides: dict[str, Callable[[ModelSettings], Forecaster]] = {}

    def resolve(self, name: str | None) -> str:
        """Map a requested name (None → default, 'auto' → the fast local model)."""
        requested = (name or self.settings.default_model).lower()
        if requested not in MODEL_NAMES:
            raise UnknownModel(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
        return "stats" if requested == "auto" else requested

    def register(self, name: str, factory: Callable[[ModelSettings], Forecaster]) -> None:
        """Replace or add a backend (tests, plugins)."""
        with self._lock:
            self._overrides[name] = factory
            self._instances.pop(name, None)

    def get(self, name: str | None) -> Forecaster:
        resolved = self.resolve(name)
        with self._lock:
            inst = self._instances.get(resolved)
            if inst is None:
                factory = self._overrides.get(resolved) or _load(_BACKENDS[resolved])
                inst = factory(self.settings)
                self._instances[resolved] = inst
            return inst


def _load(target: str) -> Callable[[ModelSettings], Forecaster]:
    module, attr = target.split(":")
    factory: Callable[[ModelSettings], Forecaster] = getattr(importlib.import_module(module), attr)
    return factory
