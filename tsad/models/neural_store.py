"""Fitted neural models on disk: weights in safetensors, a small JSON beside them.

Layout under the model directory (``ModelSettings.model_dir``, default
``~/.cache/tsad/models``; share it between replicas to share fits)::

    <kind>/<key>.safetensors     weights (state_dict, float32)
    <kind>/<key>.json            spec (hyperparameters) + training metadata
    <kind>/global-<spec>-<step>.json   the current global model: {"key", "at",
                                       "series", "bootstrap"}
    <kind>/global-<spec>-<step>-<tag>.json   the same for a tagged member (one of
                                       several networks of one spec, e.g. a seed bag)

A model's ``key`` hashes its spec, the sampling step and the exact training
data, so the same history fitted twice (a retried batch detect, a restarted
replica) loads instead of refitting. The *global* pointer names the model that
``fit_many`` last trained for a spec and step: new series use it without a fit.
Files are written to a temporary name and renamed, so concurrent replicas never
read half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsad.models.neural_spec import NeuralSpec, build_module
from tsad.series import FloatArray

DEFAULT_MODEL_DIR = "~/.cache/tsad/models"
FORMAT = 1


def resolve_dir(model_dir: str | None) -> Path:
    return Path(model_dir or DEFAULT_MODEL_DIR).expanduser()


def data_digest(ys: Sequence[FloatArray], step_ms: int) -> str:
    """Hash of the training data: step, then each series' length and values."""
    h = hashlib.sha256(str(step_ms).encode())
    for y in ys:
        arr = np.ascontiguousarray(y, dtype="<f8")
        h.update(arr.shape[0].to_bytes(8, "little"))
        h.update(arr.tobytes())
    return h.hexdigest()


def model_key(spec: NeuralSpec, step_ms: int, digest: str) -> str:
    return hashlib.sha256(f"{spec.digest}:{step_ms}:{digest}".encode()).hexdigest()[:24]


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ModelStore:
    """Save and load fitted modules by key; track the global model per spec and step.

    At most ``keep`` models per kind stay on disk: saving prunes the oldest ones
    that no global pointer names (per-request fits would otherwise pile up).
    """

    def __init__(self, root: Path, keep: int = 64) -> None:
        self.root = root
        self.keep = keep
        self._pointers: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}

    def _paths(self, kind: str, key: str) -> tuple[Path, Path]:
        base = self.root / kind
        return base / f"{key}.safetensors", base / f"{key}.json"

    def _global_path(self, spec: NeuralSpec, step_ms: int, tag: str = "") -> Path:
        suffix = f"-{tag}" if tag else ""
        return self.root / spec.kind / f"global-{spec.serving_digest}-{step_ms}{suffix}.json"

    def save(
        self,
        key: str,
        spec: NeuralSpec,
        module: Any,
        *,
        step_ms: int,
        digest: str,
        series: int,
        points: int,
        fit_seconds: float,
    ) -> Path:
        """Write weights then metadata (a reader checks the JSON first)."""
        import neuralforecast
        import torch
        from safetensors.torch import save

        weights, meta_path = self._paths(spec.kind, key)
        # clone: loss and valid_loss share their quantile tensor, which safetensors refuses
        state = {k: v.detach().clone().contiguous() for k, v in module.state_dict().items()}
        _write_atomic(weights, save(state, metadata={"key": key}))
        meta = {
            "format": FORMAT,
            "key": key,
            "spec": spec.to_dict(),
            "step_ms": step_ms,
            "trained_on": {"series": series, "points": points, "digest": digest},
            "fit_seconds": round(fit_seconds, 3),
            "fitted_at": int(time.time()),
            "versions": {"torch": torch.__version__, "neuralforecast": neuralforecast.__version__},
        }
        _write_atomic(meta_path, json.dumps(meta, indent=1).encode())
        self._prune(spec.kind)
        return weights

    def _prune(self, kind: str) -> None:
        base = self.root / kind
        pinned = set()
        for pointer in base.glob("global-*.json"):
            try:
                pinned.add(json.loads(pointer.read_text()).get("key"))
            except (OSError, ValueError, AttributeError):
                continue
        models = []
        for path in base.glob("*.safetensors"):
            try:
                models.append((path.stat().st_mtime, path))
            except OSError:  # removed by another replica meanwhile
                continue
        models.sort()
        for _, path in models[: max(0, len(models) - self.keep)]:
            if path.stem not in pinned:
                path.with_suffix(".json").unlink(missing_ok=True)
                path.unlink(missing_ok=True)

    def meta(self, kind: str, key: str) -> dict[str, Any] | None:
        weights, meta_path = self._paths(kind, key)
        if not (meta_path.exists() and weights.exists()):
            return None
        try:
            meta: dict[str, Any] = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            return None
        return meta if meta.get("format") == FORMAT else None

    def load(self, kind: str, key: str) -> tuple[NeuralSpec, Any] | None:
        """The module saved under ``key`` in eval mode, or None if there is none."""
        from safetensors.torch import load_file

        meta = self.meta(kind, key)
        if meta is None:
            return None
        spec = NeuralSpec.from_dict(meta["spec"])
        module = build_module(spec)
        try:
            state = load_file(str(self._paths(kind, key)[0]))
        except FileNotFoundError:  # pruned by another replica after the check
            return None
        module.load_state_dict(state)
        module.eval()
        return spec, module

    def set_global(
        self,
        spec: NeuralSpec,
        step_ms: int,
        key: str,
        *,
        series: int,
        bootstrap: bool = False,
        tag: str = "",
    ) -> None:
        """Point the global model for ``spec`` at ``step_ms`` (and ``tag``) to ``key``.
        ``bootstrap`` marks a stand-in (one request's own fit) that a proper
        ``fit_many`` should replace."""
        pointer = {"key": key, "at": time.time(), "series": series, "bootstrap": bootstrap}
        _write_atomic(self._global_path(spec, step_ms, tag), json.dumps(pointer).encode())

    def global_pointer(
        self, spec: NeuralSpec, step_ms: int, tag: str = ""
    ) -> dict[str, Any] | None:
        """The global pointer (``key``, ``at``, ``series``, ``bootstrap``) or None.

        Read again only when the file changed (a pointer is replaced by a rename, so
        its inode, size or mtime differ): on the predict path this is one ``stat``."""
        path = self._global_path(spec, step_ms, tag)
        try:
            st = path.stat()
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            cached = self._pointers.get(path)
            if cached is not None and cached[0] == stamp:
                return dict(cached[1])
            raw = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("key"), str):
            return None
        self._pointers[path] = (stamp, raw)
        return dict(raw)

    def global_key(self, spec: NeuralSpec, step_ms: int, tag: str = "") -> str | None:
        pointer = self.global_pointer(spec, step_ms, tag)
        return None if pointer is None else str(pointer["key"])
