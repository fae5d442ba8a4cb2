"""Feedback routes: operators label alerts (or what tsad missed, or what to expect),
each series adapts its threshold, and the learned ranker reports its state.

``POST /v1/series/{id}/feedback`` answers **201** with the stored record (a new
addressable resource, deleted by its id).
"""

from __future__ import annotations

import math
from typing import Any

from litestar import Request, Router, delete, get, post

from tsad.api.decode import query_range, read_json
from tsad.api.feedback_schemas import (
    FeedbackList,
    FeedbackOut,
    FeedbackRequest,
    FeedbackReset,
    RankerOut,
)
from tsad.api.openapi import json_body
from tsad.errors import InvalidInput
from tsad.feedback.records import FeedbackInput
from tsad.series import format_ts, parse_timestamp
from tsad.service import TsadService

FEEDBACK = "/v1/series/{series_id:str}/feedback"


def feedback_input(body: FeedbackRequest) -> FeedbackInput:
    """The label's range from ``timestamp``, or ``start`` (and ``end``)."""
    if body.timestamp is not None and (body.start is not None or body.end is not None):
        raise InvalidInput("give 'timestamp' for a point or 'start'/'end' for a range, not both")
    first = body.timestamp if body.timestamp is not None else body.start
    if first is None:
        raise InvalidInput("give 'timestamp' (a point) or 'start' (a range)")
    start = parse_timestamp(first)
    end = parse_timestamp(body.end) if body.end is not None else None
    return FeedbackInput(body.label, start, end, body.note, body.author)


def record_out(r: dict[str, Any]) -> FeedbackOut:
    peak = r.get("peak_log_odds")
    return FeedbackOut(
        id=r["id"],
        label=r["label"],
        start=format_ts(int(r["start"])),
        end=format_ts(int(r["end"])),
        note=r.get("note"),
        author=r.get("author"),
        created=format_ts(int(r["created"])),
        peak_score=None if peak is None else 1.0 / (1.0 + math.exp(-float(peak))),
        adapts=bool(r.get("adapts", True)),
    )


@post(FEEDBACK, status_code=201, operation_class=json_body(FeedbackRequest))
async def add_feedback(
    series_id: str, request: Request[Any, Any, Any], service: TsadService
) -> FeedbackOut:
    """Label a point or a range of a series: false_positive, true_positive, missed, expected."""
    body = await read_json(request, FeedbackRequest)
    record = await service.feedback.add(series_id, feedback_input(body))
    return record_out(record)


@get(FEEDBACK)
async def list_feedback(
    series_id: str,
    service: TsadService,
    label: str | None = None,
    start: str | None = None,
    end: str | None = None,
    author: str | None = None,
) -> FeedbackList:
    """A series' feedback, filtered by label, author and overlap with [start, end]."""
    lo, hi = query_range(start, end)
    records = await service.feedback.records(
        series_id, label=label, start=lo, end=hi, author=author
    )
    return FeedbackList(
        series_id=series_id, count=len(records), feedback=[record_out(r) for r in records]
    )


@delete(FEEDBACK + "/{feedback_id:str}", status_code=204)
async def delete_feedback(series_id: str, feedback_id: str, service: TsadService) -> None:
    """Forget one label; the series' adaptation is replayed without it."""
    await service.feedback.delete(series_id, feedback_id)


@post(FEEDBACK + "/reset", status_code=200)
async def reset_feedback(series_id: str, service: TsadService) -> FeedbackReset:
    """Undo what feedback did to the series' threshold and expected ranges (labels stay)."""
    await service.feedback.reset(series_id)
    view = await service.series(series_id)
    return FeedbackReset(
        series_id=series_id,
        threshold=view.threshold,
        threshold_offset=view.threshold_offset,
        feedback_count=view.feedback_count,
    )


def _ranker_out(service: TsadService) -> RankerOut:
    desk = service.feedback
    st = desk.status
    return RankerOut(
        enabled=st.enabled,
        reason=st.reason,
        labels=st.labels,
        true_labels=st.true_labels,
        trained_at=format_ts(int(st.trained_at * 1000)) if st.trained_at else None,
        suppress_below=desk.settings.suppress_below,
        suppressed=desk.suppressed,
    )


@get("/v1/feedback/ranker")
async def ranker_status(service: TsadService) -> RankerOut:
    """Whether the learned alert ranker scores alerts, and why not when it does not."""
    return _ranker_out(service)


@post("/v1/feedback/ranker/train", status_code=200)
async def ranker_train(service: TsadService) -> RankerOut:
    """Retrain the alert ranker now (it also retrains on its schedule)."""
    await service.feedback.train()
    return _ranker_out(service)


feedback_routes = Router(
    path="/",
    route_handlers=[
        add_feedback,
        list_feedback,
        delete_feedback,
        reset_feedback,
        ranker_status,
        ranker_train,
    ],
    tags=["feedback"],
)
