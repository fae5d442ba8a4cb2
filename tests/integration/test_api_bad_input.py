"""Every bad input of issue 2 gets a 4xx problem-details answer and stores nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tsad.api.app import create_app
from tsad.settings import ApiSettings, ModelSettings, Settings

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
LIMITS = ApiSettings(max_points_per_request=50, max_series_per_request=3, max_body_bytes=4096)


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Any]]:
    settings = Settings(models=ModelSettings(runner="thread"), api=LIMITS)
    async with AsyncTestClient(create_app(settings)) as c:
        yield c


def pts(n: int, start: int = T0) -> list[list[float]]:
    return [[start + 3600 * i, 10.0 + (i % 24)] for i in range(n)]


def assert_problem(resp: Any, status: int, *needles: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    assert body["title"] and body["type"]
    for needle in needles:
        assert needle in body["detail"], body["detail"]
    return body


async def assert_absent(client: AsyncTestClient[Any], series_id: str = "victim") -> None:
    resp = await client.get(f"/v1/series/{series_id}")
    assert resp.status_code == 404, resp.text


async def post_raw(client: AsyncTestClient[Any], path: str, body: bytes) -> Any:
    return await client.post(path, content=body, headers={"content-type": "application/json"})


async def test_empty_body_is_400(client: AsyncTestClient[Any]) -> None:
    """An empty body answers 400 saying a JSON object is expected."""
    resp = await post_raw(client, "/v1/series/victim/points", b"")
    assert_problem(resp, 400, "empty")
    await assert_absent(client)


async def test_malformed_json_is_400(client: AsyncTestClient[Any]) -> None:
    """Malformed JSON answers 400 saying it is not valid JSON."""
    resp = await post_raw(client, "/v1/series/victim/points", b'{"points": [[1, 2]')
    assert_problem(resp, 400, "not valid JSON")
    await assert_absent(client)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"points": "many"}, "$.points"),
        ({"points": 12}, "$.points"),
        ({"pts": []}, "points"),
        ([1, 2, 3], "object"),
        ({"points": [[T0, 1.0]], "freq": 5}, "$.freq"),
    ],
)
async def test_wrong_types_are_422(client: AsyncTestClient[Any], body: Any, needle: str) -> None:
    """A body of the wrong shape or field types answers 422 naming the field."""
    resp = await client.post("/v1/series/victim/points", json=body)
    assert_problem(resp, 422, needle)
    await assert_absent(client)


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        (b"NaN", "nan"),
        (b"Infinity", "inf"),
        (b"-Infinity", "inf"),
        (b"null", "null"),
        (b"1e999", "range"),
    ],
)
async def test_non_finite_values_are_422(
    client: AsyncTestClient[Any], value: bytes, needle: str
) -> None:
    """NaN, ±Infinity (as Python's json emits them), null and overflow values answer 422."""
    body = b'{"points": [[1704067200, 1.0], [1704070800, ' + value + b"]]}"
    resp = await post_raw(client, "/v1/series/victim/points", body)
    assert_problem(resp, 422, needle)
    await assert_absent(client)


@pytest.mark.parametrize("stamp", ["yesterday", "2024-13-01T00:00:00Z", True, [1], 1e20])
async def test_unparseable_timestamps_are_422(client: AsyncTestClient[Any], stamp: Any) -> None:
    """A timestamp that is neither RFC 3339 nor epoch seconds answers 422 naming the point."""
    body = {"points": [[T0, 1.0], {"timestamp": stamp, "value": 2.0}]}
    resp = await client.post("/v1/series/victim/points", json=body)
    assert_problem(resp, 422, "point 1")
    await assert_absent(client)


async def test_bad_point_leaves_existing_series_unchanged(client: AsyncTestClient[Any]) -> None:
    """A batch with one bad point stores none of its points (no half-stored batch)."""
    assert (await client.post("/v1/series/kept/points", json={"points": pts(3)})).status_code == 200
    body = {"points": [*pts(5, T0 + 3 * 3600), [T0 + 99 * 3600, "high"]]}
    resp = await client.post("/v1/series/kept/points", json=body)
    assert_problem(resp, 422, "point 5")
    info = (await client.get("/v1/series/kept")).json()
    assert info["count"] == 3


@pytest.mark.parametrize(
    ("series_id", "needle"),
    [("bad$id", "'$'"), ("a%20b", "' '"), ("x" * 201, "1-200"), ("h%7Bslot%7D", "'{'")],
)
async def test_bad_series_ids_are_422(
    client: AsyncTestClient[Any], series_id: str, needle: str
) -> None:
    """Series ids outside [A-Za-z0-9_.:=,-] or longer than 200 characters answer 422."""
    resp = await client.post(f"/v1/series/{series_id}/points", json={"points": pts(2)})
    assert_problem(resp, 422, needle)
    assert (await client.get("/v1/series")).json()["series"] == []


@pytest.mark.parametrize("path", ["/v1/forecast", "/v1/detect"])
async def test_too_few_points_is_422_with_the_minimum(
    client: AsyncTestClient[Any], path: str
) -> None:
    """Fewer points than TSAD_MIN_POINTS answers 422 stating the minimum (12)."""
    resp = await client.post(path, json={"points": pts(5), "h": 3})
    body = assert_problem(resp, 422, "at least 12")
    assert body["needed"] == 12 and body["got"] == 5


async def test_too_few_stored_points_is_422(client: AsyncTestClient[Any]) -> None:
    """A stored series shorter than the minimum cannot be forecast (422 with the minimum)."""
    await client.post("/v1/series/short/points", json={"points": pts(4)})
    resp = await client.post("/v1/forecast", json={"series_id": "short", "h": 2})
    assert assert_problem(resp, 422, "12")["needed"] == 12


async def test_too_many_points_is_413(client: AsyncTestClient[Any]) -> None:
    """More points than TSAD_MAX_POINTS_PER_REQUEST answers 413 with the limit."""
    resp = await client.post("/v1/series/victim/points", json={"points": pts(51)})
    assert assert_problem(resp, 413, "limit is 50")["limit"] == 50
    await assert_absent(client)
    resp = await client.post("/v1/detect", json={"points": pts(51)})
    assert_problem(resp, 413, "limit is 50")


async def test_body_over_size_limit_is_413(client: AsyncTestClient[Any]) -> None:
    """A body larger than TSAD_MAX_BODY_BYTES answers 413 with the limit in bytes."""
    body = json.dumps({"points": pts(40), "padding": "x" * 5000}).encode()
    resp = await post_raw(client, "/v1/series/victim/points", body)
    assert assert_problem(resp, 413, "4096 bytes")["limit"] == 4096
    await assert_absent(client)


@pytest.mark.parametrize(
    ("h", "status"), [(0, 422), (-3, 422), (10_001, 422), (10**12, 422), (2.5, 422), ("3", 422)]
)
async def test_bad_horizon_is_422(client: AsyncTestClient[Any], h: Any, status: int) -> None:
    """``h`` ≤ 0, absurdly large or not an integer answers 422."""
    resp = await client.post("/v1/forecast", json={"points": pts(30), "h": h})
    assert_problem(resp, status, "h")


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/v1/detect", {"level": 100}),
        ("/v1/detect", {"level": 0}),
        ("/v1/detect", {"level": -5}),
        ("/v1/forecast", {"levels": [80, 150], "h": 3}),
        ("/v1/forecast", {"levels": [], "h": 3}),
    ],
)
async def test_level_outside_0_100_is_422(
    client: AsyncTestClient[Any], path: str, extra: dict[str, Any]
) -> None:
    """A level outside (0, 100), or no level at all, answers 422."""
    resp = await client.post(path, json={"points": pts(30), **extra})
    assert_problem(resp, 422, "level")


@pytest.mark.parametrize("path", ["/v1/forecast", "/v1/detect", "/v1/series/victim/points"])
async def test_unknown_model_is_422(client: AsyncTestClient[Any], path: str) -> None:
    """An unknown model name answers 422 listing the models there are."""
    resp = await client.post(path, json={"points": pts(30), "h": 2, "model": "prophet"})
    body = assert_problem(resp, 422, "prophet", "stats")
    assert body["type"].endswith("unknown-model")
    await assert_absent(client)


async def test_unknown_detect_mode_is_422(client: AsyncTestClient[Any]) -> None:
    """A detect mode other than batch/online answers 422 naming the field."""
    resp = await client.post("/v1/detect", json={"points": pts(30), "mode": "stream"})
    assert_problem(resp, 422, "$.mode")


async def test_bad_freq_stores_nothing(client: AsyncTestClient[Any]) -> None:
    """An unparseable ``freq`` answers 422 before any point is appended."""
    resp = await client.post(
        "/v1/series/victim/points", json={"points": pts(3), "freq": "fortnightly"}
    )
    assert_problem(resp, 422, "fortnightly")
    await assert_absent(client)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/series/ghost", None),
        ("GET", "/v1/series/ghost/points", None),
        ("GET", "/v1/series/ghost/anomalies", None),
        ("DELETE", "/v1/series/ghost", None),
        ("POST", "/v1/forecast", {"series_id": "ghost", "h": 3}),
        ("POST", "/v1/detect", {"series_id": "ghost"}),
    ],
)
async def test_unknown_series_is_404(
    client: AsyncTestClient[Any], method: str, path: str, body: Any
) -> None:
    """A series id that does not exist answers 404 naming it."""
    resp = await client.request(method, path, json=body)
    assert_problem(resp, 404, "'ghost'")


async def test_non_json_content_type_is_415(client: AsyncTestClient[Any]) -> None:
    """A form or text body answers 415 telling the client to send application/json."""
    resp = await client.post(
        "/v1/series/victim/points",
        content=b"points=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(resp, 415, "application/json")
    await assert_absent(client)


async def test_both_or_neither_source_is_422(client: AsyncTestClient[Any]) -> None:
    """Forecast needs exactly one of series_id and points."""
    assert_problem(await client.post("/v1/forecast", json={"h": 3}), 422, "exactly one")
    both = {"h": 3, "series_id": "a", "points": pts(20)}
    assert_problem(await client.post("/v1/forecast", json=both), 422, "exactly one")


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("start=soon", "'start'"),
        ("end=2024-99-01", "'end'"),
        ("start=2024-02-01&end=2024-01-01", "after"),
    ],
)
async def test_bad_query_timestamps_are_422(
    client: AsyncTestClient[Any], query: str, needle: str
) -> None:
    """Unparseable or reversed start/end query parameters answer 422."""
    await client.post("/v1/series/kept/points", json={"points": pts(3)})
    resp = await client.get(f"/v1/series/kept/points?{query}")
    assert_problem(resp, 422, needle)


async def test_bulk_is_all_or_nothing(client: AsyncTestClient[Any]) -> None:
    """A bulk append with one bad series stores none of the series."""
    body = {
        "series": [
            {"series_id": "good", "points": pts(3)},
            {"series_id": "victim", "points": [[T0, None]]},
        ]
    }
    resp = await client.post("/v1/points", json=body)
    problem = assert_problem(resp, 422, "series 1", "'victim'", "null")
    assert problem["index"] == 1
    await assert_absent(client, "good")
    await assert_absent(client, "victim")


async def test_bulk_limits_are_413(client: AsyncTestClient[Any]) -> None:
    """Bulk appends over the series or total-points limits answer 413 and store nothing."""
    many = {"series": [{"series_id": f"s{i}", "points": pts(1)} for i in range(4)]}
    assert assert_problem(await client.post("/v1/points", json=many), 413, "series")["limit"] == 3
    heavy = {"series": [{"series_id": f"s{i}", "points": pts(20)} for i in range(3)]}
    assert_problem(await client.post("/v1/points", json=heavy), 413, "60 points")
    assert (await client.get("/v1/series")).json()["series"] == []


async def test_unknown_route_and_method_are_problems(client: AsyncTestClient[Any]) -> None:
    """No such route answers 404 and a wrong method 405, both as problem details."""
    assert_problem(await client.get("/v1/nothing"), 404, "/v1/nothing")
    assert_problem(await client.put("/v1/forecast", json={}), 405, "PUT")


async def test_wrong_path_parameter_type_never_500(client: AsyncTestClient[Any]) -> None:
    """Odd but routable input (unicode ids, huge query values) never answers 5xx."""
    for path in ["/v1/series/%C3%A9t%C3%A9", "/v1/series/kept/points?start=" + "9" * 400]:
        resp = await client.get(path)
        assert 400 <= resp.status_code < 500, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
