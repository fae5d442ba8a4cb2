"""Feedback on a group, the same as on a series (``/v1/series/{id}/feedback``): label a
point or a range of the group's rows, list the labels with filters, delete one.
``POST`` answers **201** with the stored record. What a label does to the group's
flags: ``tsad.multivariate.group_feedback``."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, delete, get, post

from tsad.api.decode import query_range, read_json
from tsad.api.feedback_schemas import FeedbackOut, FeedbackRequest
from tsad.api.openapi import json_body
from tsad.api.routes.feedback import feedback_input, record_out
from tsad.api.schemas import Wire
from tsad.service import TsadService


class GroupFeedbackList(Wire):
    group: str
    count: int
    feedback: list[FeedbackOut]


@post("/", status_code=201, operation_class=json_body(FeedbackRequest))
async def add_group_feedback(
    group: str, request: Request[Any, Any, Any], service: TsadService
) -> FeedbackOut:
    """Label a point or a range of a group: false_positive, true_positive, missed, expected."""
    body = await read_json(request, FeedbackRequest)
    return record_out(await service.groups.add_feedback(group, feedback_input(body)))


@get("/")
async def list_group_feedback(
    group: str,
    service: TsadService,
    label: str | None = None,
    start: str | None = None,
    end: str | None = None,
    author: str | None = None,
) -> GroupFeedbackList:
    """A group's feedback, filtered by label, author and overlap with [start, end]."""
    lo, hi = query_range(start, end)
    records = await service.groups.feedback_records(
        group, label=label, start=lo, end=hi, author=author
    )
    return GroupFeedbackList(
        group=group, count=len(records), feedback=[record_out(r) for r in records]
    )


@delete("/{feedback_id:str}", status_code=204)
async def delete_group_feedback(group: str, feedback_id: str, service: TsadService) -> None:
    """Forget one label; the group's adaptation is replayed without it."""
    await service.groups.delete_feedback(group, feedback_id)


group_feedback_routes = Router(
    path="/v1/groups/{group:str}/feedback",
    route_handlers=[add_group_feedback, list_group_feedback, delete_group_feedback],
    tags=["groups", "feedback"],
)
