"""``import tsad`` and the model registry stay light: no torch, no neuralforecast."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "neuralforecast", "pytorch_lightning", "safetensors")


def test_importing_tsad_and_the_neural_module_does_not_import_torch() -> None:
    """A fresh interpreter importing tsad, the registry and tsad.models.neural loads no torch."""
    code = (
        "import sys, tsad, tsad.models.registry, tsad.models.neural\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == ""
