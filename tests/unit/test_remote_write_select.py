"""PromQL series selectors for TSAD_REMOTE_WRITE_MATCH."""

from __future__ import annotations

import pytest

from tsad.errors import ConfigError
from tsad.integrations.remote_write.select import keeps, parse_selector, parse_selectors
from tsad.settings import Settings


def test_bare_name_matches_that_metric_only() -> None:
    """A bare metric name keeps that metric with any labels, and nothing else."""
    sel = parse_selector("node_load1")
    assert sel.matches({"__name__": "node_load1", "instance": "a"})
    assert not sel.matches({"__name__": "node_load5"})


def test_all_four_operators_follow_promql() -> None:
    """=, !=, =~ and !~ work as in PromQL; regexes are anchored; absent labels are ''."""
    sel = parse_selector('{__name__=~"http_.*", code!~"2..", job="api", env!="dev"}')
    assert sel.matches({"__name__": "http_x", "code": "500", "job": "api"})
    assert not sel.matches({"__name__": "xhttp_x", "code": "500", "job": "api"})
    assert not sel.matches({"__name__": "http_x", "code": "200", "job": "api"})
    assert not sel.matches({"__name__": "http_x", "code": "500", "job": "api", "env": "dev"})


def test_any_selector_keeps_a_series_and_none_keeps_all() -> None:
    """Selectors separated by ';' are alternatives; an empty list keeps everything."""
    selectors = parse_selectors('up ; {job="db"}')
    assert keeps(selectors, {"__name__": "up"})
    assert keeps(selectors, {"__name__": "q", "job": "db"})
    assert not keeps(selectors, {"__name__": "q", "job": "web"})
    assert keeps([], {"__name__": "anything"})


def test_quoted_values_may_hold_commas_braces_and_escaped_quotes() -> None:
    """Values are PromQL strings: commas, braces and escaped quotes inside are literal."""
    sel = parse_selector(r'm{a="x,y}", b="say \"hi\""}')
    assert sel.matches({"__name__": "m", "a": "x,y}", "b": 'say "hi"'})
    assert parse_selector(str(sel)) == sel


@pytest.mark.parametrize("text", ['m{a="1"', "m{a=1}", '{a~"x"}', 'm{a=~"("}', "m n"])
def test_bad_selectors_are_configuration_errors(text: str) -> None:
    """A malformed selector or regex in TSAD_REMOTE_WRITE_MATCH fails at start-up, naming it."""
    with pytest.raises(ConfigError, match="TSAD_REMOTE_WRITE_MATCH"):
        Settings.from_env({"TSAD_REMOTE_WRITE_MATCH": text})


def test_settings_keep_selectors_and_the_new_series_bound() -> None:
    """TSAD_REMOTE_WRITE_MATCH and TSAD_REMOTE_WRITE_MAX_NEW_SERIES are read into settings."""
    env = {"TSAD_REMOTE_WRITE_MATCH": 'up; m{a="b"}', "TSAD_REMOTE_WRITE_MAX_NEW_SERIES": "5"}
    cfg = Settings.from_env(env).remote_write
    assert cfg.max_new_series == 5
    assert [str(s) for s in parse_selectors(cfg.match)] == list(cfg.match)
    assert len(cfg.match) == 2
