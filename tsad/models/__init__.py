"""Forecasters behind the ``Forecaster`` protocol, imported lazily by name."""

from tsad.models.registry import MODEL_NAMES, ModelRegistry

__all__ = ["MODEL_NAMES", "ModelRegistry"]
