"""Feedback on a group over real HTTP: the same labels as on a series, listed with
filters and deleted by id; an expected range is never flagged, a false positive
raises the group's threshold, and the labels survive a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from tests.integration.test_api_groups import MIN, T0, store
from tests.integration.test_api_groups import client as client  # the same app fixture
from tests.unit.test_multivariate import metrics
from tsad.api.app import create_app
from tsad.settings import BufferSettings, ModelSettings, Settings

FB = "/v1/groups/host/feedback"


def at(row: int) -> int:
    return T0 + MIN * row


async def test_group_feedback_is_added_listed_filtered_and_deleted(
    client: AsyncTestClient[Any],
) -> None:
    """POST stores a label (201 with its id), GET lists and filters, DELETE forgets it;
    an unknown group or label is 404 / 422, an unknown id 404."""
    await store(client, metrics(300))
    r = await client.post(FB, json={"label": "false_positive", "timestamp": at(250)})
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    r = await client.post(FB, json={"label": "expected", "start": at(10), "end": at(20)})
    assert r.status_code == 201
    listed = (await client.get(FB)).json()
    assert listed["group"] == "host" and listed["count"] == 2
    only = (await client.get(FB, params={"label": "expected"})).json()["feedback"]
    assert [f["label"] for f in only] == ["expected"]
    assert (await client.delete(f"{FB}/{fid}")).status_code == 204
    assert (await client.delete(f"{FB}/{fid}")).status_code == 404
    assert (await client.get(FB)).json()["count"] == 1
    assert (await client.get("/v1/groups/nope/feedback")).status_code == 404
    bad = await client.post(FB, json={"label": "maybe", "timestamp": at(1)})
    assert bad.status_code == 422


async def test_expected_range_is_not_flagged_and_a_false_positive_raises_the_threshold(
    client: AsyncTestClient[Any],
) -> None:
    """A fault inside an expected range raises no flag; a false positive on the group
    makes its detection threshold higher than before."""
    await store(client, metrics(400, fault=slice(320, 380)))
    before = (await client.post("/v1/groups/host/detect", json={})).json()
    assert any(p["is_anomaly"] for p in before["points"][330:370])
    r = await client.post(FB, json={"label": "false_positive", "timestamp": at(340)})
    assert r.status_code == 201
    raised = (await client.post("/v1/groups/host/detect", json={})).json()
    assert raised["threshold"] > before["threshold"]
    body = {"label": "expected", "start": at(300), "end": at(399)}
    assert (await client.post(FB, json=body)).status_code == 201
    quiet = (await client.post("/v1/groups/host/detect", json={})).json()["points"]
    assert not any(p["is_anomaly"] for p in quiet[300:])


async def test_group_feedback_survives_a_restart(tmp_path: Path) -> None:
    """On the embedded store a group's labels are listed again after a restart."""
    settings = Settings(
        buffer=BufferSettings(backend="embedded", data_dir=str(tmp_path / "data")),
        models=ModelSettings(runner="thread"),
    )
    async with AsyncTestClient(create_app(settings)) as first:
        await store(first, metrics(50))
        r = await first.post(FB, json={"label": "missed", "timestamp": at(40), "note": "disk"})
        assert r.status_code == 201
    async with AsyncTestClient(create_app(settings)) as again:
        listed = (await again.get(FB)).json()["feedback"]
        assert [(f["label"], f["note"]) for f in listed] == [("missed", "disk")]
