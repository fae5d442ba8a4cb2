"""``tsad detect FILE --changepoints``: change points of each series in FILE, printed
(and written with ``--output``: ``[unique_id,]timestamp,value,confidence,is_change_point``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console

from tsad.detect.changepoints import DEFAULT_THRESHOLD, DEFAULT_WINDOW, changepoint_job
from tsad.series import format_ts
from tsad.settings import Settings


def run_changepoints(
    file: Path, freq: str | None, output: str | None, mode: str, settings: Settings, out: Console
) -> int:
    """Find and report the change points; returns the number of rows written."""
    from tsad.io import read_series_file, write_table

    data = read_series_file(file)
    frames = []
    for s in data.series:
        outcome = changepoint_job(
            settings.models.min_points,
            s.ts,
            s.y,
            freq,
            None,
            DEFAULT_WINDOW,
            DEFAULT_THRESHOLD,
            mode,
        )
        r = outcome.result
        name = f"{file.name}{f' · {s.series_id}' if s.series_id else ''}"
        stamps = [format_ts(t) for t in r.ts[r.indices].tolist()]
        out.print(
            f"{name}: {len(stamps)} change point{'s' if len(stamps) != 1 else ''} "
            f"({mode}, period {r.period}, window {r.window}, threshold {r.threshold:g})",
            markup=False,
        )
        for stamp, conf in zip(stamps, r.confidence[r.indices].tolist(), strict=True):
            out.print(f"  {stamp}  confidence {conf:.3f}", markup=False)
        frame = pd.DataFrame(
            {
                "timestamp": [format_ts(t) for t in r.ts.tolist()],
                "value": r.value,
                "confidence": r.confidence,
                "is_change_point": r.is_change_point,
            }
        )
        if s.series_id is not None:
            frame.insert(0, "unique_id", s.series_id)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    if output:
        write_table(table, output)
    return len(table)
