"""The model catalogue is the one list of models: settings, the CLI help, the
TimeGPT-compatible name map and global-fit planning read it."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from tsad.cli import app
from tsad.errors import ConfigError, UnknownModel
from tsad.integrations.timegpt_compat import local_model
from tsad.models import catalogue
from tsad.models.catalogue import ModelEntry
from tsad.models.registry import ModelRegistry
from tsad.settings import Settings


def test_ensemble_is_a_valid_default_model() -> None:
    """TSAD_DEFAULT_MODEL=ensemble is accepted and resolves to the ensemble."""
    settings = Settings.from_env({"TSAD_DEFAULT_MODEL": "ensemble"})
    assert settings.models.default_model == "ensemble"
    assert ModelRegistry(settings.models).resolve(None) == "ensemble"


def test_every_catalogued_name_is_a_valid_default_model() -> None:
    """Each catalogue name passes settings validation; others fail naming them all."""
    for name in catalogue.model_names():
        assert Settings.from_env({"TSAD_DEFAULT_MODEL": name}).models.default_model == name
    with pytest.raises(ConfigError, match="auto, stats, nhits, patchtst, ensemble, timegpt"):
        Settings.from_env({"TSAD_DEFAULT_MODEL": "prophet"})


def test_each_entry_has_an_importable_backend_or_an_alias() -> None:
    """A backend names an existing module (not imported: torch stays out); an alias a model."""
    for e in catalogue.entries():
        if e.alias_of is not None:
            assert catalogue.entry(e.alias_of) is not None
            continue
        assert e.backend is not None
        module, _, factory = e.backend.partition(":")
        assert factory and importlib.util.find_spec(module) is not None


def test_global_fit_planning_reads_the_catalogue() -> None:
    """Global fits are kept for the neural kinds and the ensemble; batch prefits for the
    neural kinds only."""
    assert catalogue.global_models() == ("nhits", "patchtst", "ensemble")
    assert catalogue.prefit_models() == ("nhits", "patchtst")


def test_timegpt_names_map_to_auto_and_local_names_pass() -> None:
    """A compatible server never calls the cloud: remote names map to auto."""
    assert [local_model(n) for n in ("Ensemble", "nhits", "timegpt", "timegpt-1")] == [
        "ensemble",
        "nhits",
        "auto",
        "auto",
    ]


def test_cli_help_lists_the_catalogue() -> None:
    """detect's --model help names every catalogued model."""
    for command in ("detect", "forecast"):
        cmd = next(
            c for c in app.registered_commands if c.callback and c.callback.__name__ == command
        )
        assert cmd.callback is not None
        helps = [getattr(p, "help", None) for p in cmd.callback.__defaults__ or ()]
        assert catalogue.choices_text() + "." in helps


@pytest.fixture
def toy() -> Iterator[str]:
    catalogue.add(
        ModelEntry(name="toy", summary="test", backend="tests.fixtures.toy_backend:ToyForecaster")
    )
    yield "toy"
    catalogue.remove("toy")


def test_a_new_backend_is_one_file_and_one_entry(toy: str) -> None:
    """A catalogue entry pointing at one module makes the model valid everywhere."""
    assert Settings.from_env({"TSAD_DEFAULT_MODEL": toy}).models.default_model == toy
    assert local_model(toy) == toy
    assert ModelRegistry().get(toy).name == toy
    catalogue.remove(toy)
    with pytest.raises(UnknownModel):
        ModelRegistry().get(toy)


def test_built_in_entries_cannot_be_replaced_or_removed() -> None:
    """add refuses a name already catalogued; remove leaves built-ins alone."""
    with pytest.raises(ValueError, match="already"):
        catalogue.add(ModelEntry(name="stats", summary="x", backend="m:f"))
    catalogue.remove("stats")
    assert catalogue.entry("stats") is not None
