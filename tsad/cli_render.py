"""What ``tsad detect`` and ``tsad forecast`` print when they are not told to
write a file: a short summary per series (model, cleaning done, anomalies) and a
compact rich table. Kept apart from ``tsad.cli`` so the command wiring stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.console import Console
from rich.table import Table

from tsad.io import SeriesData, format_timestamps
from tsad.jobs import DetectOutcome, ForecastOutcome, Report
from tsad.series import level_label

MAX_ROWS = 20  # a terminal's worth; --output writes everything


@dataclass(frozen=True)
class Done:
    """One series' input and what the job returned for it."""

    data: SeriesData
    outcome: DetectOutcome | ForecastOutcome
    name: str = "series"  # shown for a single-series file (its file stem)

    @property
    def label(self) -> str:
        return self.data.series_id or self.name


def model_text(report: Report) -> str:
    """``stats:MSTL``, or ``stats:MSTL (degraded: why)`` when it fell back."""
    if report.degraded:
        return f"{report.model_used} (degraded: {report.reason or 'fell back'})"
    return report.model_used


def cleaning_text(report: Report, dropped: int) -> str:
    """What was done to the input before fitting, in words."""
    parts = []
    if report.unsorted:
        parts.append("sorted by time")
    if report.duplicates:
        parts.append(f"{report.duplicates} duplicate timestamps (last kept)")
    if report.filled:
        parts.append(f"{report.filled} gaps filled (linear interpolation)")
    if dropped:
        parts.append(f"{dropped} rows with empty values skipped")
    return ", ".join(parts) if parts else "nothing to clean"


def _num(x: float) -> str:
    return "" if not np.isfinite(x) else f"{x:.6g}"


def render_detect(console: Console, done: Sequence[Done], level: float, mode: str) -> None:
    """Summary of a detect run: one series in detail, many as one table."""
    if len(done) == 1:
        _detect_one(console, done[0], level, mode)
        return
    table = Table(title=f"detect · level {level:g}% · {mode}", title_justify="left")
    for col in ("series", "points", "freq", "model", "anomalies", "cleaning"):
        table.add_column(col, justify="right" if col in ("points", "anomalies") else "left")
    total = 0
    for d in done:
        assert isinstance(d.outcome, DetectOutcome)
        n = int(d.outcome.scored.is_anomaly.sum())
        total += n
        r = d.outcome.report
        table.add_row(
            d.label,
            str(len(d.outcome.scored)),
            r.freq,
            model_text(r),
            str(n),
            cleaning_text(r, d.data.dropped),
        )
    console.print(table)
    console.print(f"{total} anomalies in {len(done)} series")


def _detect_one(console: Console, d: Done, level: float, mode: str) -> None:
    assert isinstance(d.outcome, DetectOutcome)
    s, r = d.outcome.scored, d.outcome.report
    flagged = np.flatnonzero(s.is_anomaly)
    console.print(
        f"{d.label}: {len(s)} points at {r.freq} · model {model_text(r)} · "
        f"level {level:g}% · {mode}"
    )
    console.print(f"cleaning: {cleaning_text(r, d.data.dropped)}")
    console.print(
        f"anomalies: {flagged.size} (score >= {d.outcome.threshold:.6f}, "
        f"sensitivity {d.outcome.sensitivity:g})"
    )
    if not flagged.size:
        return
    # the most surprising points first: every flag scores at least the threshold
    top = flagged[np.argsort(-s.score[flagged], kind="stable")[:MAX_ROWS]]
    table = Table(title_justify="left")
    table.add_column("timestamp", no_wrap=True, min_width=20)
    for col in ("value", "expected", "score", "severity", "direction"):
        table.add_column(col, justify="left" if col == "direction" else "right", no_wrap=True)
    for i, stamp in zip(top, format_timestamps(s.ts[top]), strict=True):
        table.add_row(
            stamp,
            _num(s.value[i]),
            _num(s.expected[i]),
            f"{s.score[i]:.6f}",
            f"{s.severity[i]:.2f}",
            {1: "up", -1: "down"}.get(int(s.direction[i]), ""),
        )
    console.print(table)
    if flagged.size > top.size:
        console.print(f"… {flagged.size - top.size} more; --output writes every point")


def render_forecast(console: Console, done: Sequence[Done], levels: Sequence[float]) -> None:
    """Summary of a forecast run: one series' steps as a table, many as a per-series table."""
    if len(done) == 1:
        _forecast_one(console, done[0], levels)
        return
    table = Table(title="forecast", title_justify="left")
    for col in ("series", "points", "freq", "model", "from", "to", "first mean"):
        table.add_column(col, justify="right" if col in ("points", "first mean") else "left")
    for d in done:
        assert isinstance(d.outcome, ForecastOutcome)
        band, r = d.outcome.band, d.outcome.report
        first, last = format_timestamps(band.ts[[0, -1]])
        table.add_row(
            d.label, str(len(d.data.ts)), r.freq, model_text(r), first, last, _num(band.mean[0])
        )
    console.print(table)


def _forecast_one(console: Console, d: Done, levels: Sequence[float]) -> None:
    assert isinstance(d.outcome, ForecastOutcome)
    band, r = d.outcome.band, d.outcome.report
    console.print(
        f"{d.label}: {len(d.data.ts)} points at {r.freq} · model {model_text(r)} · "
        f"{len(band)} steps ahead"
    )
    console.print(f"cleaning: {cleaning_text(r, d.data.dropped)}")
    table = Table(title_justify="left")
    table.add_column("timestamp")
    cols = band.columns()
    names = ["mean"] + [
        f"{side}-{level_label(lv)}" for lv in sorted(levels) for side in ("lo", "hi")
    ]
    for name in names:
        table.add_column(name, justify="right")
    shown = min(len(band), MAX_ROWS * 2)
    for i, stamp in enumerate(format_timestamps(band.ts[:shown])):
        table.add_row(stamp, *(_num(cols[name][i]) for name in names))
    console.print(table)
    if len(band) > shown:
        console.print(f"… {len(band) - shown} more steps; --output writes them all")
