"""The model catalogue: every model tsad knows, named once with its capabilities.

Settings validation (``TSAD_DEFAULT_MODEL``), the CLI's ``--model`` help, the
TimeGPT-compatible name map and global-fit planning all read this table; the
registry builds forecasters from it. Adding a backend is one module with a
factory taking ``ModelSettings`` and one ``ModelEntry`` here.

This module imports nothing heavy (and nothing from ``tsad.settings``, which
reads it), so ``import tsad`` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tsad.series import Series
    from tsad.types import Forecaster


@dataclass(frozen=True)
class ModelEntry:
    """One model: its name, where its factory lives, and what it can do.

    ``backend`` is ``"module:factory"`` (the factory takes ``ModelSettings``);
    an alias (``auto``) has ``alias_of`` instead. ``extra`` is the pip extra the
    backend needs (``tsad[neural]``). ``global_fit``: one model trained on many
    series serves them all (the service keeps it fresh; a ``GlobalForecaster``).
    ``batch_prefit``: a batch run on many series fits that global model first.
    ``remote``: the model is a cloud API (a compatible server never calls it).
    """

    name: str
    summary: str
    backend: str | None = None
    alias_of: str | None = None
    extra: str | None = None
    intervals: bool = True
    global_fit: bool = False
    batch_prefit: bool = False
    multivariate: bool = False
    remote: bool = False


CATALOGUE: tuple[ModelEntry, ...] = (
    ModelEntry(name="auto", summary="a fast local model (stats)", alias_of="stats"),
    ModelEntry(
        name="stats",
        summary="statsforecast with calibrated bands",
        backend="tsad.models.stats:StatsForecaster",
    ),
    ModelEntry(
        name="nhits",
        summary="global NHITS network",
        backend="tsad.models.neural:NHITSForecaster",
        extra="neural",
        global_fit=True,
        batch_prefit=True,
    ),
    ModelEntry(
        name="patchtst",
        summary="four global PatchTST networks (two seeds, two training lengths), averaged",
        backend="tsad.models.patchtst_bag:PatchTSTBag",
        extra="neural",
        global_fit=True,
        batch_prefit=True,
    ),
    ModelEntry(
        name="ensemble",
        summary="median of stats, three NHITS, a PatchTST and two seasonal-naive members",
        backend="tsad.models.ensemble:EnsembleForecaster",
        extra="neural",
        global_fit=True,
    ),
    ModelEntry(
        name="timegpt",
        summary="Nixtla's TimeGPT API",
        backend="tsad.models.timegpt:TimeGPTForecaster",
        extra="timegpt",
        remote=True,
    ),
    ModelEntry(
        name="tsad-base",
        summary="bundled pretrained PatchTST, zero-shot for short hourly histories",
        backend="tsad.models.pretrained_base:BaseModelForecaster",
        extra="neural",
    ),
)

_BY_NAME: dict[str, ModelEntry] = {e.name: e for e in CATALOGUE}


def add(new: ModelEntry) -> None:
    """Add a model to the catalogue (a plugin, a test fixture); a name is added once."""
    if new.name in _BY_NAME or new.name != new.name.lower():
        raise ValueError(f"model {new.name!r} is already catalogued or not lower case")
    if (new.backend is None) == (new.alias_of is None):
        raise ValueError(f"model {new.name!r} needs exactly one of backend and alias_of")
    _BY_NAME[new.name] = new


def remove(name: str) -> None:
    """Take an added model out again (tests); built-in models stay."""
    if name not in {e.name for e in CATALOGUE}:
        _BY_NAME.pop(name, None)


def entries() -> tuple[ModelEntry, ...]:
    """Every catalogued model, built-ins first."""
    return tuple(_BY_NAME.values())


def model_names() -> tuple[str, ...]:
    """Every name a request, a setting or the CLI may use, in catalogue order."""
    return tuple(_BY_NAME)


def entry(name: str) -> ModelEntry | None:
    """The catalogue entry for ``name`` (exact, lower case), or None."""
    return _BY_NAME.get(name)


def resolve_alias(name: str) -> str:
    """An alias's target (``auto`` → ``stats``); other names unchanged."""
    e = _BY_NAME.get(name)
    return e.alias_of if e is not None and e.alias_of else name


def global_models() -> tuple[str, ...]:
    """Models with a global fit, kept fresh by the service."""
    return tuple(e.name for e in _BY_NAME.values() if e.global_fit)


def prefit_models() -> tuple[str, ...]:
    """Models whose batch runs fit one global model before the per-series jobs."""
    return tuple(e.name for e in _BY_NAME.values() if e.batch_prefit)


def local_models() -> tuple[str, ...]:
    """Models that run on this machine (what a TimeGPT-compatible request may name)."""
    return tuple(e.name for e in _BY_NAME.values() if not e.remote)


def needs_extra(name: str, extra: str) -> bool:
    """Whether ``name``'s backend needs the pip extra ``extra`` (e.g. to warm it up)."""
    e = _BY_NAME.get(resolve_alias(name))
    return e is not None and e.extra == extra


def choices_text(names: Sequence[str] | None = None) -> str:
    """``"auto, stats, … or timegpt"``: CLI help and messages."""
    *head, last = names if names is not None else model_names()
    return f"{', '.join(head)} or {last}" if head else last


@runtime_checkable
class GlobalForecaster(Protocol):
    """A forecaster with a global fit: one model trained on many series
    (``fit_many``), retrained when ``global_fit_due``. ``global_steps`` is the
    model's own choice of training steps for a global fit (None: its default)."""

    @property
    def global_steps(self) -> int | None: ...

    def fit_many(
        self,
        histories: Sequence[Series],
        step_ms: int,
        h: int | None = None,
        *,
        max_steps: int | None = None,
    ) -> str: ...

    def global_fit_due(self, step_ms: int, h: int | None, every_s: float) -> bool: ...


def as_global(forecaster: Forecaster) -> GlobalForecaster | None:
    """``forecaster`` as a GlobalForecaster, or None when it has no global fit."""
    return forecaster if isinstance(forecaster, GlobalForecaster) else None
