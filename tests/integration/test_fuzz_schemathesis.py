"""Schemathesis against the live OpenAPI document: a real `tsad serve` on loopback
takes generated requests for every documented operation; none may answer 5xx and
every documented response must match its schema.

Bounded: a fixed number of examples per operation and small request limits (so a
generated request cannot ask for a long fit), about a minute on this machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, settings

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error, response_schema_conformance  # noqa: E402

from tests.redis_server import free_port  # noqa: E402

EXAMPLES = int(os.environ.get("TSAD_FUZZ_EXAMPLES", "120"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`tsad serve` with small limits, model fits in a thread, on a free loopback port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSAD_")}
    env.update(
        TSAD_DATA_DIR=str(tmp_path_factory.mktemp("data")),
        TSAD_RUNNER="thread",
        TSAD_MAX_POINTS_PER_REQUEST="300",
        TSAD_MAX_SERIES_PER_REQUEST="5",
        TSAD_MAX_HORIZON="48",
        TSAD_MAX_BODY_BYTES="65536",
        TSAD_REQUEST_DEADLINE_S="60",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsad", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, "tsad serve exited"
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def api_schema(server: str) -> object:
    return schemathesis.openapi.from_url(server + "/schema/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests every run: a failure here is reproducible
    suppress_health_check=list(HealthCheck),
)
def test_no_5xx_and_responses_match_the_schema(case: object, server: str) -> None:
    """Generated requests to every operation never get a 5xx; documented answers conform."""
    case.call_and_validate(  # type: ignore[attr-defined]
        base_url=server,
        checks=[not_a_server_error, response_schema_conformance],
        timeout=60,
    )
