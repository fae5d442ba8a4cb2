"""The per-request limits, checked in one place so every route and path words a
breach the same way: ``N <things> in one request; the limit is L (SETTING)``."""

from __future__ import annotations

from tsad.errors import TooLarge


def check_count(
    n: int, limit: int, what: str = "points", *, setting: str = "", hint: str = ""
) -> None:
    """Raise ``TooLarge`` (413, with ``limit``) when ``n`` exceeds ``limit``.

    ``setting`` names the TSAD_* variable that raises the limit; ``hint`` says what
    a client can do instead."""
    if n <= limit:
        return
    detail = f"{n} {what} in one request; the limit is {limit}"
    if setting:
        detail += f" ({setting})"
    if hint:
        detail += f"; {hint}"
    raise TooLarge(detail, limit=limit)


def check_points(n: int, limit: int) -> None:
    """The points-per-request limit (TSAD_MAX_POINTS_PER_REQUEST)."""
    check_count(n, limit, "points")
