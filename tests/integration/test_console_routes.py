"""The console's routes over HTTP (no browser): pages and assets are public, the data
API keeps its guard, ``GET /v1/status`` tells what runs without any secret, /schema
is Swagger UI on local assets, and every console file ships in the package."""

from __future__ import annotations

import re
import tomllib
from collections.abc import AsyncIterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tsad.api.app import create_app
from tsad.console import PAGES
from tsad.settings import ApiSettings, IntegrationSettings, ModelSettings, Settings

REPO = Path(__file__).resolve().parents[2]
KEY, HOOK, NIXTLA = "k-console-5e1f", "hook-secret-77", "nixtla-secret-42"


def _settings(**api: Any) -> Settings:
    return Settings(
        models=ModelSettings(runner="thread", timegpt_api_key=NIXTLA),
        api=ApiSettings(**api),
        integrations=IntegrationSettings(webhook_secret=HOOK),
    )


@pytest.fixture
async def guarded() -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(_settings(api_keys=(KEY,), auth_reads=True))
    async with AsyncTestClient(app) as client:
        yield client


async def test_pages_and_assets_are_public_while_the_api_stays_guarded(
    guarded: AsyncTestClient[Any],
) -> None:
    """With keys and TSAD_AUTH_READS, pages and static files answer 200; the API 401."""
    for path in ["/", *(f"/console/{p}" for p in PAGES), "/console/static/console.js"]:
        resp = await guarded.get(path)
        assert resp.status_code == 200, path
    assert "text/html" in (await guarded.get("/")).headers["content-type"]
    for path in ("/v1/series", "/v1/status", "/schema", "/schema/openapi.json"):
        assert (await guarded.get(path)).status_code == 401, path
    assert (await guarded.post("/v1/detect", json={"points": []})).status_code == 401
    ok = await guarded.get("/v1/status", headers={"Authorization": f"Bearer {KEY}"})
    assert ok.status_code == 200


async def test_unknown_console_page_is_a_404_problem(guarded: AsyncTestClient[Any]) -> None:
    """A console page that does not exist answers 404 problem details."""
    resp = await guarded.get("/console/nope")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "/console/nope" in resp.json()["detail"]


async def test_status_shows_what_runs_and_never_a_secret(guarded: AsyncTestClient[Any]) -> None:
    """GET /v1/status names buffer, workers, queue and settings; no key or secret in it."""
    resp = await guarded.get("/v1/status", headers={"Authorization": f"Bearer {KEY}"})
    body = resp.json()
    assert body["buffer"] == {
        "kind": "MemoryBuffer",
        "reachable": True,
        "series": 0,
        "redis_url": None,
    }
    assert body["workers"]["runner"] == "thread"
    assert body["refit_queue"] == {"kind": "MemoryRefitQueue", "pending": 0}
    settings = body["settings"]
    assert settings["auth"] is True and settings["auth_reads"] is True
    assert settings["timegpt_configured"] is True and settings["webhook_secret_configured"]
    for secret in (KEY, HOOK, NIXTLA):
        assert secret not in resp.text


async def test_status_counts_pending_refits_after_an_append() -> None:
    """After points arrive the status counts series and the refit queued for them."""
    async with AsyncTestClient(create_app(_settings())) as client:
        points = [[1_704_067_200 + 60 * i, float(i % 7)] for i in range(30)]
        resp = await client.post("/v1/series/s1/points", json={"points": points})
        assert resp.json()["refit_scheduled"] is True
        body = (await client.get("/v1/status")).json()
        assert body["buffer"]["series"] == 1
        assert body["refit_queue"]["pending"] in (0, 1)  # queued, or already being fitted


async def test_schema_is_swagger_ui_on_local_assets(guarded: AsyncTestClient[Any]) -> None:
    """/schema and /schema/swagger are Swagger UI whose scripts and styles are tsad's own."""
    headers = {"Authorization": f"Bearer {KEY}"}
    for path in ("/schema", "/schema/swagger"):
        page = (await guarded.get(path, headers=headers)).text
        assert "SwaggerUIBundle" in page
        urls = re.findall(r"(?:src|href)=['\"]([^'\"]+)['\"]", page)
        assert urls and all(u.startswith("/console/static/") for u in urls), urls
        for url in urls:
            assert (await guarded.get(url)).status_code == 200, url


async def test_openapi_declares_bearer_auth_only_when_keys_are_set(
    guarded: AsyncTestClient[Any],
) -> None:
    """With keys the document declares bearer auth (Swagger's Authorize); without, none."""
    headers = {"Authorization": f"Bearer {KEY}"}
    doc = (await guarded.get("/schema/openapi.json", headers=headers)).json()
    assert doc["security"] == [{"bearer": []}]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    async with AsyncTestClient(create_app(_settings())) as open_client:
        plain = (await open_client.get("/schema/openapi.json")).json()
    assert "security" not in plain and "securitySchemes" not in plain.get("components", {})


def test_every_console_and_sample_file_is_package_data() -> None:
    """pyproject's package-data globs cover every file in tsad/console and tsad/samples."""
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = data["package-data"]
    for package in ("tsad.console", "tsad.samples"):
        root = REPO / package.replace(".", "/")
        files = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
        shipped = [f for f in files if not f.endswith((".py", ".pyc")) and "__pycache__" not in f]
        assert shipped, package
        for rel in shipped:
            assert any(
                fnmatch(rel, g) and rel.count("/") == g.count("/") for g in globs[package]
            ), rel
