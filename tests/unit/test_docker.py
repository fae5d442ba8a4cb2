"""docker/ checked structurally (no Docker engine here): compose, Dockerfile, Prometheus
and Grafana provisioning agree with each other and with tsad's own names."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tsad.api.metrics import Metrics
from tsad.integrations.grafana_panels import PanelData, panel_rows
from tsad.settings import Settings

DOCKER = Path(__file__).resolve().parents[2] / "docker"
PANEL_COLUMNS = {"time", "value", "expected", "lo", "hi", "anomalous"}


def load_yaml(rel: str) -> Any:
    return yaml.safe_load((DOCKER / rel).read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml("compose.yaml")
    return data


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DOCKER / "grafana/dashboards/tsad.json").read_text())
    return data


def provisioned_uids() -> dict[str, dict[str, Any]]:
    sources = load_yaml("grafana/provisioning/datasources/tsad.yaml")["datasources"]
    return {ds["uid"]: ds for ds in sources}


def walk(node: Any) -> list[dict[str, Any]]:
    """Every dict inside a JSON document."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += walk(value)
    elif isinstance(node, list):
        for value in node:
            found += walk(value)
    return found


def test_compose_names_the_four_services(compose: dict[str, Any]) -> None:
    """compose.yaml parses and runs tsad, redis, prometheus and grafana."""
    assert set(compose["services"]) == {"tsad", "redis", "prometheus", "grafana"}


def test_compose_ports_match_the_image_and_the_scrape_target(compose: dict[str, Any]) -> None:
    """tsad's published port is the one the Dockerfile serves and Prometheus scrapes."""
    dockerfile = (DOCKER / "Dockerfile").read_text()
    (exposed,) = re.findall(r"^EXPOSE (\d+)$", dockerfile, re.M)
    assert f'"--port", "{exposed}"' in dockerfile
    assert f"{exposed}:{exposed}" in compose["services"]["tsad"]["ports"]
    prom = load_yaml("prometheus/prometheus.yml")
    (job,) = prom["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == [f"tsad:{exposed}"]
    assert "9090:9090" in compose["services"]["prometheus"]["ports"]
    assert "3000:3000" in compose["services"]["grafana"]["ports"]


def test_compose_volumes_are_declared_and_bind_mounts_exist(compose: dict[str, Any]) -> None:
    """Named volumes used are declared (and every declared one used); bind sources exist."""
    used: set[str] = set()
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("."):
                assert (DOCKER / source).exists(), f"{name}: {source} missing"
            else:
                used.add(source)
    assert used == set(compose["volumes"])


def test_compose_builds_tsad_from_the_repo_and_wires_redis(compose: dict[str, Any]) -> None:
    """tsad builds from docker/Dockerfile at the repo root and talks to the redis service."""
    tsad = compose["services"]["tsad"]
    assert (DOCKER / tsad["build"]["context"] / tsad["build"]["dockerfile"]).is_file()
    assert (DOCKER / tsad["build"]["context"] / "pyproject.toml").is_file()
    host = re.match(r"redis://([^:/]+):6379", tsad["environment"]["TSAD_REDIS_URL"])
    assert host is not None and host.group(1) == "redis"
    assert tsad["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "healthcheck" in compose["services"]["redis"]


def test_compose_environment_is_what_tsad_reads(compose: dict[str, Any]) -> None:
    """Every TSAD_* variable in compose is parsed by Settings and its default is valid."""
    env = compose["services"]["tsad"]["environment"]
    source = (Path(__file__).resolve().parents[2] / "tsad" / "settings.py").read_text()
    for name in env:
        assert f'"{name}"' in source, f"{name} is not read by tsad.settings"
    defaults = {k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(v)) for k, v in env.items()}
    settings = Settings.from_env(defaults)
    assert settings.buffer.redis_url == "redis://redis:6379/0"
    assert settings.integrations.alert_bucket_ms == 60_000


def test_dockerfile_is_multistage_with_cpu_torch_first() -> None:
    """Build and runtime stages; torch==2.13.0 (CPU index) is installed before tsad."""
    text = (DOCKER / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)$", text, re.M)
    assert stages == ["build", "runtime"]
    assert "COPY --from=build /opt/venv /opt/venv" in text
    torch_at = text.index("pip install torch==2.13.0")
    assert "download.pytorch.org/whl/cpu" in text[torch_at : text.index("\n", torch_at)]
    assert torch_at < text.index('pip install ".[')
    assert re.findall(r"torch[=<>~!]=?[\d.]+", text) == ["torch==2.13.0"]
    assert re.search(r"^USER tsad$", text, re.M)


def test_tsad_volume_targets_exist_in_the_image_owned_by_its_user(
    compose: dict[str, Any],
) -> None:
    """Every volume tsad mounts is a directory the Dockerfile creates for the non-root user."""
    dockerfile = (DOCKER / "Dockerfile").read_text()
    user = re.search(r"^USER (\S+)", dockerfile, re.M)
    assert user is not None
    created = re.findall(rf"install -d -o {user.group(1)} -g {user.group(1)} (\S+)", dockerfile)
    targets = [v.split(":")[1] for v in compose["services"]["tsad"]["volumes"]]
    assert targets and all(t in created for t in targets), (targets, created)
    model_dir = re.search(r"TSAD_MODEL_DIR=(\S+)", dockerfile)
    assert model_dir is not None and model_dir.group(1) in targets


def test_grafana_datasources_point_at_the_compose_services() -> None:
    """Provisioned data sources reach tsad (Infinity) and Prometheus by service name."""
    uids = provisioned_uids()
    assert uids["tsad-infinity"]["type"] == "yesoreyeram-infinity-datasource"
    assert uids["tsad-infinity"]["url"] == "http://tsad:8000"
    assert uids["tsad-infinity"]["url"] in uids["tsad-infinity"]["jsonData"]["allowedHosts"]
    assert uids["prometheus"]["url"] == "http://prometheus:9090"


def test_dashboard_provider_reads_the_mounted_folder(compose: dict[str, Any]) -> None:
    """The dashboard provider's path is where compose mounts docker/grafana/dashboards."""
    (provider,) = load_yaml("grafana/provisioning/dashboards/tsad.yaml")["providers"]
    mounts = dict(m.split(":")[:2] for m in compose["services"]["grafana"]["volumes"])
    assert mounts["./grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    plugins = compose["services"]["grafana"]["environment"]["GF_INSTALL_PLUGINS"]
    assert "yesoreyeram-infinity-datasource" in plugins


def test_dashboard_references_only_provisioned_datasources(dashboard: dict[str, Any]) -> None:
    """Every datasource uid in the dashboard is one provisioning creates, with its type."""
    uids = provisioned_uids()
    refs = [d["datasource"] for d in walk(dashboard) if isinstance(d.get("datasource"), dict)]
    assert refs
    for ref in refs:
        assert ref["uid"] in uids and ref["type"] == uids[ref["uid"]]["type"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_dashboard_draws_series_band_and_anomalies(dashboard: dict[str, Any]) -> None:
    """The main panel reads tsad's panel rows, fills lo..hi, and anomalies are annotated."""
    main = dashboard["panels"][0]
    (target,) = main["targets"]
    assert target["url"] == "/v1/series/${series}/panel"
    assert {c["selector"] for c in target["columns"]} == PANEL_COLUMNS
    fill = [
        o
        for o in main["fieldConfig"]["overrides"]
        if {"id": "custom.fillBelowTo", "value": "lo"} in o["properties"]
    ]
    assert [o["matcher"]["options"] for o in fill] == ["hi"]
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert "series" in variables
    (anno,) = dashboard["annotations"]["list"]
    assert anno["target"]["url"] == "/v1/series/${series}/anomalies"


def test_dashboard_columns_are_what_the_panel_route_returns() -> None:
    """The columns the dashboard selects are keys of tsad's panel rows."""
    one = np.array([1.0])
    data = PanelData(np.array([0], np.int64), one, one, one, one, np.zeros(1, np.int8))
    (row,) = panel_rows(data)
    assert set(row) >= PANEL_COLUMNS


def test_dashboard_prometheus_queries_use_exported_metrics(dashboard: dict[str, Any]) -> None:
    """Metric names in the dashboard's PromQL are ones tsad exports."""
    exposition = Metrics().exposition().decode()
    exprs = [d["expr"] for d in walk(dashboard) if "expr" in d]
    names = {n for e in exprs for n in re.findall(r"\b(tsad_[a-z_]+)", e)}
    assert names
    for name in names:
        base = re.sub(r"_(bucket|total|count|sum)$", "", name)
        assert base in exposition, name
