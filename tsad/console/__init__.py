"""The web console's files: HTML pages, their scripts and styles, and the vendored
uPlot and Swagger UI builds (``static/vendor``, re-created by ``vendor.sh``).

Nothing here talks HTTP: ``tsad.api.routes.console`` serves these files, and the
pages' scripts call tsad's own JSON API from the browser.
"""

from __future__ import annotations

from pathlib import Path

CONSOLE_DIR = Path(__file__).resolve().parent
STATIC_DIR = CONSOLE_DIR / "static"
PAGES_DIR = CONSOLE_DIR / "pages"
STATIC_PATH = "/console/static"
PAGES = ("series", "csv", "status")


def page(name: str) -> str:
    """The HTML of one console page (``index`` is the series list)."""
    return (PAGES_DIR / f"{name}.html").read_text(encoding="utf-8")
