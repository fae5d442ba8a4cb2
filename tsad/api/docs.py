"""API docs in the browser: Swagger UI at ``/schema`` (and ``/schema/swagger``)
from the swagger-ui-dist build vendored in ``tsad/console/static/vendor``, so the
page works with no network; the document itself stays at ``/schema/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from litestar.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    SwaggerRenderPlugin,
)
from litestar.openapi.spec import Components, SecurityScheme

from tsad.console import STATIC_PATH
from tsad.settings import Settings

_SWAGGER = f"{STATIC_PATH}/vendor/swagger-ui"
_FAVICON = f"<link rel='icon' type='image/svg+xml' href='{STATIC_PATH}/favicon.svg'>"


def docs_plugins() -> list[OpenAPIRenderPlugin]:
    """Swagger UI first (it answers ``/schema`` itself), then the JSON document."""
    return [
        SwaggerRenderPlugin(
            path=["/", "/swagger"],
            js_url=f"{_SWAGGER}/swagger-ui-bundle.js",
            css_url=f"{_SWAGGER}/swagger-ui.css",
            standalone_preset_js_url=f"{_SWAGGER}/swagger-ui-standalone-preset.js",
            favicon=_FAVICON,
        ),
        JsonRenderPlugin(),
    ]


def docs_security(settings: Settings) -> dict[str, Any]:
    """``OpenAPIConfig`` arguments declaring bearer auth — only when keys are configured,
    so the document says what this deployment needs and Swagger UI's "Authorize"
    button sends the key with "Try it out"."""
    if not settings.api.api_keys:
        return {}
    scheme = SecurityScheme(type="http", scheme="bearer", description="a key of TSAD_API_KEYS")
    return {
        "components": Components(security_schemes={"bearer": scheme}),
        "security": [{"bearer": []}],
    }
