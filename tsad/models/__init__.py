"""Forecasters behind the ``Forecaster`` protocol, imported lazily by name
(``tsad.models.catalogue`` names them)."""

from tsad.models.catalogue import model_names
from tsad.models.registry import ModelRegistry

__all__ = ["ModelRegistry", "model_names"]
