"""TSAD_* settings added for hardening: auth switches, rate limit, levels limit."""

from __future__ import annotations

import pytest

from tsad.errors import ConfigError
from tsad.settings import Settings


def test_defaults_leave_auth_and_rate_limiting_off() -> None:
    """No env: no keys, reads and ops open, no rate limit, 10 levels per request."""
    api = Settings.from_env({}).api
    assert api.api_keys == () and not api.auth_reads and not api.auth_ops
    assert api.rate_limit is None and api.max_levels == 10


def test_auth_switches_and_keys_parse() -> None:
    """TSAD_API_KEYS splits on commas (blanks dropped); TSAD_AUTH_* take true/false forms."""
    api = Settings.from_env(
        {"TSAD_API_KEYS": " k1 , ,k2", "TSAD_AUTH_READS": "true", "TSAD_AUTH_OPS": "1"}
    ).api
    assert api.api_keys == ("k1", "k2") and api.auth_reads and api.auth_ops
    assert "k1" not in repr(api)
    with pytest.raises(ConfigError, match="TSAD_AUTH_READS"):
        Settings.from_env({"TSAD_AUTH_READS": "maybe"})


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("100/second", (100, "second")),
        ("5/minutes", (5, "minute")),
        ("7", (7, "second")),
        ("2/DAY", (2, "day")),
        ("0", None),
        ("off", None),
    ],
)
def test_rate_limit_parses(raw: str, parsed: tuple[int, str] | None) -> None:
    """TSAD_RATE_LIMIT is COUNT[/UNIT] (second, minute, hour, day; plural allowed) or 0/off."""
    assert Settings.from_env({"TSAD_RATE_LIMIT": raw}).api.rate_limit == parsed


@pytest.mark.parametrize("raw", ["fast", "-1/second", "10/week", "1.5/second"])
def test_bad_rate_limit_is_a_config_error(raw: str) -> None:
    """An unreadable TSAD_RATE_LIMIT stops start-up with a message naming it."""
    with pytest.raises(ConfigError, match="TSAD_RATE_LIMIT"):
        Settings.from_env({"TSAD_RATE_LIMIT": raw})
