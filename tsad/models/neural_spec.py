"""What a neural model is: its hyperparameters (``NeuralSpec``), the defaults
chosen for this CPU-only machine, and how a spec becomes a neuralforecast module.

Defaults were measured on the shared 2-core box (benchmarks/README.md, "Neural
models"): the light PatchTST (hidden 64, 4 heads, 2 layers, 128 windows per
batch) and NHITS (3 stacks of 2x256, 256 windows per batch) train at
~10-30 ms per step, so a few hundred steps fit one series in a few seconds.

Every model is probabilistic through ``MQLoss`` on a fixed grid of levels
(``TRAINED_LEVELS``); any requested level is read off that quantile grid
(``neural_fast.band_from_quantiles``). torch and neuralforecast are imported
inside ``build_module`` only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from tsad.series import season_length

KINDS = ("nhits", "patchtst")

#: levels the quantile head is trained on: quantiles 0.005 ... 0.995 plus the median
TRAINED_LEVELS: tuple[int, ...] = (50, 80, 90, 95, 99)

#: input window bounds (points): long enough for two days of hourly data, short
#: enough that a 5-minute series (season 288) keeps the MLP/attention small
MIN_INPUT = 32
MAX_INPUT = 512
MAX_DEFAULT_H = 96

# per-kind architecture and training defaults (see module docstring)
_ARCH: dict[str, dict[str, Any]] = {
    "nhits": {
        "mlp_units": [[256, 256], [256, 256], [256, 256]],
        "n_pool_kernel_size": [2, 2, 1],
        "n_freq_downsample": [4, 2, 1],
    },
    "patchtst": {
        "hidden_size": 64,
        "n_heads": 4,
        "encoder_layers": 2,
        "linear_hidden_size": 128,
        # chosen on the M4 Hourly hold-out (benchmarks/patchtst_search.py and
        # benchmarks/README.md, "PatchTST search"): day-long patches at half-day
        # stride over a 14-season input, per-window standard scaling under RevIN
        # (OWA 0.599 against 0.732 with the robust scaler, 1,500 steps); RevIN
        # without last-value subtraction (that library default cost OWA 1.26 → 0.81
        # in an earlier 104-series run); ``make_spec`` adds the seasonal-naive skip
        "patch_len": 24,
        "stride": 12,
        "scaler_type": "standard",
        "revin_subtract_last": False,
    },
}
#: default input window in seasons (hourly: nhits 4 days, patchtst 14 days; the
#: M4 search took PatchTST from OWA 0.96 at 4 days to 0.76 at 14, 300 steps)
_INPUT_SEASONS: dict[str, int] = {"nhits": 4, "patchtst": 14}
#: kinds that forecast the correction to seasonal naive (``tsad.models.neural_skip``):
#: PatchTST on the M4 hold-out, 1,500 steps, OWA 0.599 → 0.557 (benchmarks/README.md)
_NAIVE_SKIP: frozenset[str] = frozenset({"patchtst"})
_TRAIN: dict[str, dict[str, Any]] = {
    "nhits": {"max_steps": 100, "learning_rate": 1e-3, "windows_batch_size": 256},
    "patchtst": {"max_steps": 100, "learning_rate": 1e-3, "windows_batch_size": 128},
}

# what keeps Lightning quiet and off the GPU; checkpoints would write into the cwd
QUIET_TRAINER: dict[str, Any] = {
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "logger": False,
    "enable_checkpointing": False,
    "accelerator": "cpu",
    "devices": 1,
}


@dataclass(frozen=True)
class Variant:
    """How an ensemble member departs from its kind's defaults (``tsad.models.ensemble``).

    ``input_seasons`` sets the input window in seasons (clamped like the default);
    ``scaler`` the per-window scaler; ``point_only`` trains a median-only head
    (quantile loss at 0.5, i.e. MAE), the most accurate point forecast; ``max_steps``
    the training length when the caller does not set one.
    """

    input_seasons: int | None = None
    scaler: str | None = None
    point_only: bool = False
    max_steps: int | None = None


@dataclass(frozen=True)
class NeuralSpec:
    """Everything that determines a fitted model besides its training data."""

    kind: str
    h: int
    input_size: int
    max_steps: int
    learning_rate: float
    windows_batch_size: int
    seed: int = 1
    levels: tuple[int, ...] = TRAINED_LEVELS
    arch: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["levels"] = list(self.levels)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> NeuralSpec:
        return cls(**{**raw, "levels": tuple(raw["levels"])})

    @cached_property
    def digest(self) -> str:
        """Stable hash of all hyperparameters (part of every model key)."""
        return _hash(self.to_dict())

    @cached_property
    def serving_digest(self) -> str:
        """Hash of what a caller needs to match to use the model (architecture,
        input window, horizon, quantile grid) — not how long it was trained."""
        raw = self.to_dict()
        for training_only in ("max_steps", "learning_rate", "windows_batch_size", "seed"):
            raw.pop(training_only)
        return _hash(raw)


def _hash(raw: dict[str, Any]) -> str:
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def default_input_size(step_ms: int, seasons: int = 4) -> int:
    """``seasons`` seasons of context (default 4; hourly: 96 points), clamped to [32, 512]."""
    return max(MIN_INPUT, min(MAX_INPUT, seasons * season_length(step_ms)))


def default_horizon(step_ms: int) -> int:
    """The horizon a model is trained for unless a longer one is asked: one season, ≤ 96."""
    return max(8, min(MAX_DEFAULT_H, season_length(step_ms)))


def make_spec(
    kind: str,
    step_ms: int,
    h: int | None = None,
    *,
    input_size: int | None = None,
    max_steps: int | None = None,
    seed: int = 1,
    variant: Variant | None = None,
) -> NeuralSpec:
    """The spec for ``kind`` at this sampling step; ``h`` below the default rounds up
    to it so one model serves every shorter horizon."""
    if kind not in KINDS:
        raise ValueError(f"unknown neural model {kind!r}")
    train = _TRAIN[kind]
    v = variant or Variant()
    arch = dict(_ARCH[kind])
    if v.scaler:
        arch["scaler_type"] = v.scaler
    size = input_size or default_input_size(step_ms, v.input_seasons or _INPUT_SEASONS[kind])
    season = season_length(step_ms)
    if kind in _NAIVE_SKIP and 1 < season <= size:
        arch["naive_skip"] = season
    return NeuralSpec(
        kind=kind,
        h=max(default_horizon(step_ms), h or 0),
        input_size=size,
        max_steps=max_steps or v.max_steps or int(train["max_steps"]),
        learning_rate=float(train["learning_rate"]),
        windows_batch_size=int(train["windows_batch_size"]),
        seed=seed,
        levels=() if v.point_only else TRAINED_LEVELS,
        arch=arch,
    )


def build_module(spec: NeuralSpec) -> Any:
    """A fresh (untrained) neuralforecast model for ``spec``."""
    from neuralforecast.losses.pytorch import HuberMQLoss, MQLoss
    from neuralforecast.models import NHITS, PatchTST

    from tsad.models.neural_quiet import quiet

    cls: Any = {"nhits": NHITS, "patchtst": PatchTST}[spec.kind]
    arch = dict(spec.arch)
    if "naive_skip" in arch:
        from tsad.models.neural_skip import skip_class

        cls = skip_class(cls)
    # "loss": "huber" trains the quantile head on a Huberised pinball loss
    loss_cls = HuberMQLoss if arch.pop("loss", "mq") == "huber" else MQLoss
    with quiet():
        return cls(
            h=spec.h,
            input_size=spec.input_size,
            loss=loss_cls(level=list(spec.levels)),
            max_steps=spec.max_steps,
            # validation is off (val_size=0); matching max_steps avoids a warning
            val_check_steps=spec.max_steps,
            learning_rate=spec.learning_rate,
            windows_batch_size=spec.windows_batch_size,
            random_seed=spec.seed,
            # per-window robust scaling (unless the arch says otherwise) is what
            # lets one global model serve series of any magnitude
            **{"scaler_type": "robust", **arch},
            **QUIET_TRAINER,
        )
