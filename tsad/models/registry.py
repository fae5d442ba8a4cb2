"""Registry of forecasters by name. Backends are imported on first use, so
``import tsad`` never pulls in torch, neuralforecast or nixtla."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from tsad.errors import UnknownModel
from tsad.models.catalogue import entry, model_names, resolve_alias
from tsad.types import Forecaster

if TYPE_CHECKING:
    # tsad.settings reads the catalogue: a runtime import here would be a circle
    from tsad.settings import ModelSettings


class ModelRegistry:
    """Hands out one forecaster instance per name, created on first use."""

    def __init__(self, settings: ModelSettings | None = None) -> None:
        if settings is None:
            from tsad.settings import ModelSettings

            settings = ModelSettings()
        self.settings = settings
        self._instances: dict[str, Forecaster] = {}
        self._lock = threading.Lock()
        self._overrides: dict[str, Callable[[ModelSettings], Forecaster]] = {}

    def resolve(self, name: str | None) -> str:
        """Map a requested name (None → default, 'auto' → the fast local model)."""
        requested = (name or self.settings.default_model).lower()
        if entry(requested) is None:
            names = ", ".join(model_names())
            raise UnknownModel(f"unknown model {name!r}; choose one of {names}")
        return resolve_alias(requested)

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
                factory = self._overrides.get(resolved) or _load(_backend(resolved))
                inst = factory(self.settings)
                self._instances[resolved] = inst
            return inst


def _backend(name: str) -> str:
    e = entry(name)
    if e is None or e.backend is None:
        raise UnknownModel(f"model {name!r} has no backend")
    return e.backend


def _load(target: str) -> Callable[[ModelSettings], Forecaster]:
    module, attr = target.split(":")
    factory: Callable[[ModelSettings], Forecaster] = getattr(importlib.import_module(module), attr)
    return factory
