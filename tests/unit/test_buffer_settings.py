"""Which store the environment selects: embedded by default, Redis when a URL is given,
memory only by explicit choice; contradictory settings are refused at start-up."""

from __future__ import annotations

import pytest

from tsad.buffer.embedded_disk import data_dir
from tsad.errors import ConfigError
from tsad.settings import BufferSettings, Settings


def test_environment_defaults_to_the_embedded_store() -> None:
    """No TSAD_* setting: `tsad serve` runs on the embedded store with normal sync."""
    buffer = Settings.from_env({}).buffer
    assert (buffer.backend, buffer.data_dir, buffer.data_sync) == ("embedded", None, "normal")


def test_a_redis_url_selects_redis_and_memory_is_an_explicit_choice() -> None:
    """TSAD_REDIS_URL alone selects redis; TSAD_BUFFER=memory selects the memory buffer."""
    assert Settings.from_env({"TSAD_REDIS_URL": "redis://h"}).buffer.backend == "redis"
    assert Settings.from_env({"TSAD_BUFFER": "memory"}).buffer.backend == "memory"
    assert BufferSettings().backend == "memory"  # built by hand (tests, libraries)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"TSAD_BUFFER": "redis"}, "needs TSAD_REDIS_URL"),
        ({"TSAD_BUFFER": "embedded", "TSAD_REDIS_URL": "redis://h"}, "cannot be combined"),
        ({"TSAD_BUFFER": "disk"}, "must be one of memory, embedded, redis"),
        ({"TSAD_DATA_SYNC": "always"}, "must be one of normal, full"),
    ],
)
def test_contradictory_or_unknown_store_settings_are_refused(
    env: dict[str, str], needle: str
) -> None:
    """A store setting that cannot work is a ConfigError naming the variable."""
    with pytest.raises(ConfigError, match=needle):
        Settings.from_env(env)


def test_data_dir_defaults_under_xdg_data_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """TSAD_DATA_DIR wins; else $XDG_DATA_HOME/tsad; else ~/.local/share/tsad."""
    assert str(data_dir(BufferSettings(data_dir="/srv/tsad"))) == "/srv/tsad"
    monkeypatch.setenv("XDG_DATA_HOME", "/xdg")
    assert str(data_dir(BufferSettings())) == "/xdg/tsad"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", "/home/u")
    assert str(data_dir(BufferSettings())) == "/home/u/.local/share/tsad"
