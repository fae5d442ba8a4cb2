"""The web console: the series list at ``/``, ``/console/{series,csv,status}`` and
their static assets under ``/console/static``.

Pages and assets are public (``opt["auth"] = "public"``): they hold no data. The
pages' scripts fetch everything from the ``/v1`` API with the key the user typed,
so with ``TSAD_API_KEYS`` set the data stays exactly as guarded as for any client.
"""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from tsad.console import PAGES, STATIC_DIR, STATIC_PATH, page

PUBLIC = {"auth": "public"}
# pages change with the package: let browsers revalidate instead of guessing
_NO_STORE = CacheControlHeader(no_cache=True)


def _html(name: str) -> Response[str]:
    return Response(page(name), media_type="text/html")


@get(
    "/",
    include_in_schema=False,
    opt=PUBLIC,
    cache_control=_NO_STORE,
    sync_to_thread=False,
)
def console_index() -> Response[str]:
    """The series list."""
    return _html("index")


@get(
    "/console/{name:str}",
    include_in_schema=False,
    opt=PUBLIC,
    cache_control=_NO_STORE,
    sync_to_thread=False,
)
def console_page(name: str) -> Response[str]:
    """One of the console's other pages."""
    if name not in PAGES:
        raise NotFoundException()  # answered like any unknown route
    return _html(name)


console_routes: list[ControllerRouterHandler] = [
    console_index,
    console_page,
    create_static_files_router(
        path=STATIC_PATH,
        directories=[STATIC_DIR],
        opt=PUBLIC,
        cache_control=_NO_STORE,
        include_in_schema=False,
    ),
]
