"""Wire types of the feedback routes (``tsad.api.routes.feedback``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from tsad.api.schemas import Wire

Label = Literal["false_positive", "true_positive", "missed", "expected"]
Stamp = Annotated[
    Any,
    msgspec.Meta(description="RFC 3339 string (no offset = UTC) or epoch seconds"),
]


class FeedbackRequest(Wire):
    """A label on one point (``timestamp``) or a range (``start`` … ``end``, inclusive)."""

    label: Label
    timestamp: Stamp | None = None
    start: Stamp | None = None
    end: Stamp | None = None
    note: str | None = None
    author: str | None = None


class FeedbackOut(Wire):
    id: str
    label: str
    start: str
    end: str
    note: str | None
    author: str | None
    created: str
    # the surprise (score) of the most surprising flag in the range, when there was one
    peak_score: float | None
    adapts: bool


class FeedbackList(Wire):
    series_id: str
    count: int
    feedback: list[FeedbackOut]


class FeedbackReset(Wire):
    series_id: str
    threshold: float
    threshold_offset: float
    feedback_count: int


class RankerOut(Wire):
    enabled: bool
    reason: str
    labels: int
    true_labels: int
    trained_at: str | None
    suppress_below: float
    suppressed: int
