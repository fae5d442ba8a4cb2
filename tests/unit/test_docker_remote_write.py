"""docker/ and README: Prometheus remote-writes to tsad's receiver with valid configs, and
tsad keeps a valid selection of what it sends (promtool, not a Docker engine, checks them)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tsad.api.app import create_app
from tsad.integrations.remote_write.select import keeps, parse_selectors
from tsad.settings import Settings

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def load(rel: str) -> Any:
    return yaml.safe_load((DOCKER / rel).read_text())


def test_prometheus_remote_writes_to_the_tsad_service_route() -> None:
    """remote_write targets the compose tsad service at a route the app serves."""
    (target,) = load("prometheus/prometheus.yml")["remote_write"]
    assert target["url"] == "http://tsad:8000/api/v1/write"
    paths = {route.path for route in create_app(Settings()).routes}
    assert "/api/v1/write" in paths


def test_compose_selection_parses_and_keeps_what_prometheus_scrapes() -> None:
    """The default TSAD_REMOTE_WRITE_MATCH is valid and keeps up and tsad's buffer size."""
    raw = load("compose.yaml")["services"]["tsad"]["environment"]["TSAD_REMOTE_WRITE_MATCH"]
    default = raw.split(":-", 1)[1].rstrip("}")
    cfg = Settings.from_env({"TSAD_REMOTE_WRITE_MATCH": default}).remote_write
    selectors = parse_selectors(cfg.match)
    assert keeps(selectors, {"__name__": "up", "job": "tsad"})
    assert keeps(selectors, {"__name__": "tsad_buffer_points"})
    assert not keeps(selectors, {"__name__": "tsad_http_request_duration_seconds_bucket"})


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian prometheus)")
@pytest.mark.parametrize("source", ["docker", "readme"])
def test_remote_write_configs_pass_promtool(source: str, tmp_path: Path) -> None:
    """The compose prometheus.yml and the README's remote_write snippet are valid configs."""
    if source == "docker":
        path = DOCKER / "prometheus/prometheus.yml"
    else:
        readme = (DOCKER.parent / "README.md").read_text()
        section = readme.split("## Prometheus remote write", 1)[1]
        snippet = section.split("```yaml\n", 1)[1].split("```", 1)[0]
        assert "url: http://tsad:8000/api/v1/write" in snippet
        path = tmp_path / "prometheus.yml"
        path.write_text(snippet)
    assert PROMTOOL is not None
    done = subprocess.run(
        [PROMTOOL, "check", "config", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
