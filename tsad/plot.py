"""PNG pictures for the CLI's ``--plot``: a detection plot (series, band, flagged
points) and a forecast plot (recent history, mean, one shaded band per level).

matplotlib is imported inside the functions, and figures are drawn on a bare
``Figure`` (Agg canvas) rather than through pyplot: no global state, no GUI
backend, nothing paid by commands that do not plot.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tsad.series import Band, FloatArray, IntArray, Scored, level_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_SIZE = (12.0, 4.0)
_DPI = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def plot_path(base: Path, series_id: str | None) -> Path:
    """Where one series' plot goes: ``base`` itself, or ``<stem>-<id><suffix>`` per series."""
    if series_id is None:
        return base
    safe = _UNSAFE.sub("_", series_id)[:120] or "_"
    return base.with_name(f"{base.stem}-{safe}{base.suffix or '.png'}")


def _datetimes(ts: IntArray) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    return ts.astype("datetime64[ms]")


def _figure(title: str) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(True, alpha=0.3)
    return fig, ax


def _save(fig: Figure, path: Path) -> None:
    fig.autofmt_xdate()
    fig.savefig(path, format="png")


def plot_detection(path: Path, scored: Scored, title: str, level: float) -> Path:
    """Values, the ``level``% band and expected value, anomalies as red dots → PNG at ``path``."""
    fig, ax = _figure(title)
    x = _datetimes(scored.ts)
    ax.fill_between(
        x, scored.lo, scored.hi, color="tab:blue", alpha=0.2, lw=0, label=f"{level:g}% band"
    )
    ax.plot(x, scored.expected, color="tab:blue", lw=0.6, ls="--", label="expected")
    ax.plot(x, scored.value, color="black", lw=0.7, label="value")
    flagged = scored.is_anomaly.astype(bool)
    ax.scatter(
        x[flagged],
        scored.value[flagged],
        color="tab:red",
        s=14,
        zorder=3,
        label=f"anomalies ({int(flagged.sum())})",
    )
    ax.legend(loc="upper left", fontsize=8, ncols=4)
    _save(fig, path)
    return path


def plot_forecast(
    path: Path, hist_ts: IntArray, hist_y: FloatArray, band: Band, title: str
) -> Path:
    """Recent history, the forecast mean and a shaded band per level → PNG at ``path``."""
    fig, ax = _figure(title)
    # enough history to see the seasonality the forecast continues, not the whole file
    keep = max(4 * len(band), 200)
    ax.plot(_datetimes(hist_ts[-keep:]), hist_y[-keep:], color="black", lw=0.7, label="history")
    x = _datetimes(band.ts)
    levels = band.levels
    for i, level in enumerate(sorted(levels, reverse=True)):
        # widest band palest, so narrower ones stay visible on top
        alpha = 0.15 + 0.2 * i / max(len(levels), 1)
        ax.fill_between(
            x,
            band.lo[level],
            band.hi[level],
            color="tab:orange",
            alpha=alpha,
            lw=0,
            label=f"{level_label(level)}% interval",
        )
    ax.plot(x, band.mean, color="tab:orange", lw=1.2, label="forecast")
    ax.legend(loc="upper left", fontsize=8, ncols=4)
    _save(fig, path)
    return path
