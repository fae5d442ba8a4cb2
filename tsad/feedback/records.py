"""Feedback records: one operator label on a point or a time range of one series.

A record is a plain JSON-able dict in the buffer (``Buffer.put_feedback``), at most
``MAX_RECORDS`` per series (the oldest dropped). ``features`` holds what the alert
looked like when it was labelled (the ranker trains on it); ``peak_log_odds`` the
surprise of the most surprising flag in the range (the adaptation reads it).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from tsad.errors import InvalidInput

LABELS = ("false_positive", "true_positive", "missed", "expected")
#: feedback records kept per series (the oldest go first)
MAX_RECORDS = 500
MAX_NOTE = 2_000
MAX_AUTHOR = 200
#: a range may span at most this long (a year), so one label cannot silence a series forever
MAX_SPAN_MS = 366 * 86_400_000


@dataclass(frozen=True)
class FeedbackInput:
    """A label as a client sent it, before validation (timestamps already in ms)."""

    label: str
    start: int
    end: int | None = None
    note: str | None = None
    author: str | None = None


def check_input(item: FeedbackInput) -> FeedbackInput:
    """The input with ``end`` filled in, or InvalidInput saying what is wrong."""
    if item.label not in LABELS:
        raise InvalidInput(f"label must be one of {', '.join(LABELS)}, got {item.label!r}")
    end = item.start if item.end is None else item.end
    if end < item.start:
        raise InvalidInput("'end' is before 'start'")
    if end - item.start > MAX_SPAN_MS:
        raise InvalidInput("a feedback range may span at most 366 days")
    if item.note is not None and len(item.note) > MAX_NOTE:
        raise InvalidInput(f"'note' is longer than {MAX_NOTE} characters")
    if item.author is not None and len(item.author) > MAX_AUTHOR:
        raise InvalidInput(f"'author' is longer than {MAX_AUTHOR} characters")
    return FeedbackInput(item.label, item.start, end, item.note, item.author)


def new_record(
    item: FeedbackInput,
    now_ms: int,
    *,
    peak_log_odds: float | None,
    features: dict[str, float] | None,
    context: dict[str, float] | None = None,
) -> dict[str, Any]:
    """A stored record for a checked input (``context``: what the labelled alert looked
    like, ``tsad.feedback.adapt.labelled_context``)."""
    return {
        "id": secrets.token_hex(6),
        "label": item.label,
        "start": item.start,
        "end": item.end if item.end is not None else item.start,
        "note": item.note,
        "author": item.author,
        "created": now_ms,
        "peak_log_odds": peak_log_odds,
        "features": features,
        "context": context,
    }


def appended(records: list[dict[str, Any]], record: dict[str, Any]) -> list[dict[str, Any]]:
    """``records`` with ``record`` added, bounded to ``MAX_RECORDS`` (oldest dropped)."""
    out = [*records, record]
    return out[-MAX_RECORDS:]


def matching(
    records: list[dict[str, Any]],
    *,
    label: str | None = None,
    start: int | None = None,
    end: int | None = None,
    author: str | None = None,
) -> list[dict[str, Any]]:
    """Records with that label and author whose range overlaps [start, end]."""
    if label is not None and label not in LABELS:
        raise InvalidInput(f"label must be one of {', '.join(LABELS)}, got {label!r}")
    return [
        r
        for r in records
        if (label is None or r["label"] == label)
        and (author is None or r.get("author") == author)
        and (start is None or int(r["end"]) >= start)
        and (end is None or int(r["start"]) <= end)
    ]
