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
ZOOM_AFTER = 2_000  # longer series get zoom panels around their top incidents
ZOOM_PANELS = 3
ZOOM_HALF_WIDTH = 48  # points either side of an incident in its zoom panel
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
    _style(ax, title)
    return fig, ax


def _style(ax: Axes, title: str, ylabel: str = "value") -> None:
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel(ylabel, fontsize=9)
    ax.grid(True, alpha=0.3)


def _save(fig: Figure, path: Path) -> None:
    fig.autofmt_xdate()
    fig.savefig(path, format="png")


def top_incidents(scored: Scored, n: int = ZOOM_PANELS, gap: int = 3) -> list[tuple[int, int]]:
    """Row ranges ``(first, last)`` of the ``n`` most surprising incidents, in time order.

    Flags at most ``gap`` rows apart are one incident; incidents rank by their peak
    score, then by their peak severity.
    """
    rows = np.flatnonzero(scored.is_anomaly)
    if rows.shape[0] == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) > gap)
    firsts = np.concatenate([rows[:1], rows[breaks + 1]])
    lasts = np.concatenate([rows[breaks], rows[-1:]])
    spans = list(zip(firsts.tolist(), lasts.tolist(), strict=True))
    # scores saturate near 1 on big incidents: severity (band widths outside) breaks ties
    peak = [float(np.nanmax(scored.score[a : b + 1])) for a, b in spans]
    far = [float(np.nanmax(scored.severity[a : b + 1])) for a, b in spans]
    order = np.lexsort((np.asarray(far), np.asarray(peak)))[::-1]
    best = sorted(order[:n].tolist())
    return [(int(firsts[i]), int(lasts[i])) for i in best]


def _draw_scored(ax: Axes, scored: Scored, level: float, *, legend: bool) -> None:
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
    if legend:
        ax.legend(loc="upper left", fontsize=8, ncols=4)


def plot_detection(
    path: Path, scored: Scored, title: str, level: float, ylabel: str = "value"
) -> Path:
    """Values, the ``level``% band and expected value, anomalies as red dots → PNG at ``path``.

    On a long series (more than ``ZOOM_AFTER`` points) the band is a blur at full
    width, so panels below zoom in on the top incidents, each marked above by number.
    """
    from matplotlib.figure import Figure

    zooms = top_incidents(scored) if len(scored) > ZOOM_AFTER else []
    fig = Figure(figsize=(12.0, 7.0 if zooms else 4.0), dpi=_DPI, layout="constrained")
    grid = fig.add_gridspec(
        2 if zooms else 1, max(len(zooms), 1), height_ratios=[3, 2][: 2 if zooms else 1]
    )
    ax = fig.add_subplot(grid[0, :])
    _style(ax, title, ylabel)
    _draw_scored(ax, scored, level, legend=True)
    x = _datetimes(scored.ts)
    for i, (first, last) in enumerate(zooms):
        lo, hi = max(first - ZOOM_HALF_WIDTH, 0), min(last + ZOOM_HALF_WIDTH, len(scored) - 1)
        ax.axvspan(x[lo], x[hi], color="tab:red", alpha=0.08, lw=0)
        ax.annotate(
            str(i + 1),
            (x[(lo + hi) // 2], 1.0),
            xycoords=("data", "axes fraction"),
            ha="center",
            va="bottom",
            fontsize=8,
            color="tab:red",
        )
        zoom = fig.add_subplot(grid[1, i])
        peak = float(np.nanmax(scored.score[first : last + 1]))
        _style(zoom, f"{i + 1}: {_when(scored.ts[first])} · peak score {peak:.2f}", ylabel)
        zoom.title.set_fontsize(8)
        _draw_scored(zoom, scored.take(slice(lo, hi + 1)), level, legend=False)
        zoom.tick_params(labelsize=7)
        for label in zoom.get_xticklabels():
            label.set_rotation(30)
            label.set_horizontalalignment("right")
    if not zooms:
        fig.autofmt_xdate()
    fig.savefig(path, format="png")
    return path


def _when(ts_ms: int) -> str:
    return str(np.datetime64(int(ts_ms), "ms").astype("datetime64[m]")).replace("T", " ")


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
