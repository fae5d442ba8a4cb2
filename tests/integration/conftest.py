"""Fixtures shared by integration modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.azure_helpers import AZURE_KEY, live_tsad


@pytest.fixture(scope="session")
def azure_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One live ``tsad serve`` with ``TSAD_API_KEYS=AZURE_KEY`` for the Azure-compatible tests."""
    with live_tsad(tmp_path_factory.mktemp("azure"), TSAD_API_KEYS=AZURE_KEY) as base:
        yield base
