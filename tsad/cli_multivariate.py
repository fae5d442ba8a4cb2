"""``tsad detect WIDE.csv --multivariate``: one group from a wide CSV (a timestamp
column, one column per variable), scored together; written with ``--output`` as
``timestamp,<variables...>,score,is_anomaly,severity,is_change_point,contributors``
and drawn with ``--plot`` (each variable in its own panel, flagged rows shaded, the
top contributor's panel marked at each flag, change points as dashed lines)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from tsad.multivariate.detector import MultiScored
from tsad.multivariate.groups import detect_aligned
from tsad.multivariate.models import read_wide_csv
from tsad.series import format_ts


def _table(s: MultiScored, top: int) -> pd.DataFrame:
    df = pd.DataFrame(s.values, columns=list(s.variables))
    df.insert(0, "timestamp", [format_ts(t) for t in s.ts.tolist()])
    df["score"] = s.score
    df["is_anomaly"] = s.is_anomaly
    df["severity"] = s.severity
    df["is_change_point"] = s.change_points
    df["contributors"] = [
        ";".join(f"{v}:{w:.3f}" for v, w in s.top(i, top)) if s.is_anomaly[i] else ""
        for i in range(len(s))
    ]
    return df


def plot_group(s: MultiScored, path: Path) -> None:
    """One panel per variable; flags shaded; a flagged row's top contributor dotted red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = len(s.variables)
    fig, axes = plt.subplots(d, 1, figsize=(11, 1.6 * d + 0.6), sharex=True, squeeze=False)
    x = (s.ts - s.ts[0]) / 1000.0
    flagged = np.flatnonzero(s.is_anomaly)
    top = [s.top(i, 1)[0][0] if s.top(i, 1) else "" for i in flagged.tolist()]
    for j, (ax, name) in enumerate(zip(axes[:, 0], s.variables, strict=True)):
        ax.plot(x, s.values[:, j], lw=0.8, color="#335")
        for i in flagged:
            ax.axvspan(
                x[i], x[i] + (x[1] - x[0] if len(x) > 1 else 1), color="#f6c", alpha=0.15, lw=0
            )
        mine = flagged[[t == name for t in top]] if top else flagged
        ax.scatter(x[mine], s.values[mine, j], s=6, color="#d11", zorder=3)
        for i in np.flatnonzero(s.change_points):
            ax.axvline(x[i], color="#080", lw=0.8, ls="--")
        ax.set_ylabel(name, fontsize=8)
    axes[-1, 0].set_xlabel("seconds from start")
    fig.suptitle(
        "flagged rows shaded; red: the variable contributing most; green: change points",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run_multivariate(
    file: Path,
    detector: str,
    mode: str,
    sensitivity: float,
    ratio: float | None,
    output: str | None,
    plot: Path | None,
    out: Console,
    warmup: int = 200,
) -> int:
    """Detect over the wide CSV; returns the number of rows written."""
    from tsad.io import write_table

    aligned = read_wide_csv(file.read_text())
    s = detect_aligned(
        aligned,
        detector,
        mode=mode,
        sensitivity=sensitivity,
        max_anomaly_ratio=ratio,
        warmup=warmup,
    )
    n, cps = int(s.is_anomaly.sum()), int(s.change_points.sum())
    filled = ", ".join(
        f"{v} {f}" for v, f in zip(aligned.variables, aligned.filled, strict=True) if f
    )
    out.print(
        f"{file.name}: {len(s)} rows × {len(s.variables)} variables, {n} flagged, "
        f"{cps} change point{'s' if cps != 1 else ''} ({detector}, {mode})"
        f"{f'; filled: {filled}' if filled else ''}",
        markup=False,
    )
    table = _table(s, 3)
    if output:
        write_table(table, output)
    if plot is not None:
        plot_group(s, plot)
    return len(table)
