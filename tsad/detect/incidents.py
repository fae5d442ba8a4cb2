"""Incidents: consecutive flags of one episode, grouped, so alerts fire per incident.

Two flags belong to one incident when no more than ``GAP_STEPS`` sampling steps
separate them. An incident is *open* while the series' newest point is still
within that gap of its last flag (the episode may go on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: sampling steps between two flags of one incident
GAP_STEPS = 12


@dataclass(frozen=True)
class Incident:
    """One episode: its span, its most surprising point and how many points it flagged."""

    start: int
    end: int
    peak_ts: int
    peak_score: float
    peak_severity: float
    direction: int  # of the peak: 1 up, -1 down
    points: int
    open: bool


def group_incidents(
    records: Sequence[dict[str, Any]], step_ms: int, newest: int | None = None
) -> list[Incident]:
    """Group flagged records (``ts``, ``score``, ``severity``, ``direction``) by time."""
    rows = sorted(records, key=lambda r: int(r["ts"]))
    gap = GAP_STEPS * max(int(step_ms), 1)
    out: list[Incident] = []
    run: list[dict[str, Any]] = []

    def close(open_: bool) -> None:
        peak = max(run, key=lambda r: float(r["score"]))
        out.append(
            Incident(
                start=int(run[0]["ts"]),
                end=int(run[-1]["ts"]),
                peak_ts=int(peak["ts"]),
                peak_score=float(peak["score"]),
                peak_severity=float(peak.get("severity", 0.0)),
                direction=int(peak.get("direction", 0)),
                points=len(run),
                open=open_,
            )
        )

    for r in rows:
        if run and int(r["ts"]) - int(run[-1]["ts"]) > gap:
            close(False)
            run = []
        run.append(r)
    if run:
        close(newest is not None and newest - int(run[-1]["ts"]) <= gap)
    return out
