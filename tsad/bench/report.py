"""Bench output: rich tables on the console, ``scores.json`` / ``report.md``, and
one PNG per NAB file (series, shaded anomaly windows, counted detections).

Scores are written at full float precision; only the tables round.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tsad.bench.nab import NabFile
from tsad.series import FloatArray, IntArray

PUBLISHED_NOTE = (
    "Published scores are NAB's own results on the full 58-file corpus "
    "(config/thresholds.json, normalised with its 116 windows); they are not "
    "directly comparable with scores on a subset."
)


def published_scoreboard(
    thresholds_path: Path, profiles: Mapping[str, Any], n_windows: int = 116
) -> dict[str, dict[str, float]]:
    """Normalise NAB's published raw corpus scores: null = −fn·windows, perfect = tp·windows."""
    raw: dict[str, dict[str, dict[str, float]]] = json.loads(thresholds_path.read_text())
    board: dict[str, dict[str, float]] = {}
    for detector, per_profile in raw.items():
        row: dict[str, float] = {}
        for profile, cost in profiles.items():
            if profile not in per_profile:
                continue
            null = -cost.fn * n_windows
            perfect = cost.tp * n_windows
            row[profile] = 100.0 * (per_profile[profile]["score"] - null) / (perfect - null)
        board[detector] = row
    return board


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    """A rich table; floats shown with 2 decimals."""
    t = Table(title=title)
    for h in header:
        t.add_column(h, justify="left" if h == header[0] else "right")
    for r in rows:
        t.add_row(*(f"{c:.2f}" if isinstance(c, float) else str(c) for c in r))
    return t


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """The same table as GitHub markdown."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = (f"{c:.2f}" if isinstance(c, float) else str(c) for c in r)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_tables(console: Console, tables: Sequence[Table]) -> None:
    for t in tables:
        console.print(t)


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    """JSON with floats at full precision (json writes repr-exact floats)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")


def plot_file(
    path: Path,
    f: NabFile,
    anomaly: FloatArray,
    detections: IntArray,
    threshold: float,
    probation: int,
) -> None:
    """Series with shaded windows and probation, detections marked; score below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # time on the x axis (rows would hide gaps and mean nothing to a reader)
    x = f.ts.astype("datetime64[ms]")
    fig, (ax, ax2) = plt.subplots(
        2, 1, figsize=(12, 4.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    ax.plot(x, f.value, lw=0.6, color="#1f4e79")
    for left, right in f.windows:
        for a in (ax, ax2):
            a.axvspan(x[left], x[right], color="#f4a261", alpha=0.3, lw=0)
    end_of_probation = x[min(probation, x.shape[0] - 1)]
    for a in (ax, ax2):
        a.axvspan(x[0], end_of_probation, color="#999999", alpha=0.15, lw=0)
    if detections.shape[0]:
        ax.scatter(x[detections], f.value[detections], color="#c1121f", s=18, zorder=3)
    ax.set_title(f"{f.key}  (windows shaded, probation grey, detections red)", fontsize=9)
    ax.set_ylabel("value", fontsize=8)
    ax2.plot(x, anomaly, lw=0.5, color="#333333")
    ax2.axhline(threshold, color="#c1121f", lw=0.7, ls="--")
    ax2.set_ylim(0, 1.02)
    ax2.set_ylabel("score", fontsize=8)
    ax2.set_xlabel("time (UTC)", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
