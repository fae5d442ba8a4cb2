"""The CLI's detection plots: incidents found for zoom panels, and long series
drawn with them (a taller picture) while short ones stay one panel."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from tsad.plot import ZOOM_AFTER, plot_detection, top_incidents
from tsad.series import Scored

T0 = 1_704_067_200_000


def scored(n: int, flags: dict[int, float]) -> Scored:
    """A flat series scored against a flat band, with ``flags`` {row: score} flagged."""
    rng = np.random.default_rng(3)
    value = 10 + rng.normal(0, 0.5, n)
    score, flagged = np.zeros(n), np.zeros(n, bool)
    for row, s in flags.items():
        value[row] += 10 * s
        score[row], flagged[row] = s, True
    return Scored(
        ts=T0 + 60_000 * np.arange(n, dtype=np.int64),
        value=value,
        expected=np.full(n, 10.0),
        lo=np.full(n, 8.0),
        hi=np.full(n, 12.0),
        is_anomaly=flagged,
        direction=flagged.astype(np.int8),
        score=score,
        severity=score * 2,
    )


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def test_top_incidents_groups_nearby_flags_and_keeps_the_strongest_in_time_order() -> None:
    """Flags a few rows apart are one incident; the n highest-scoring come back by time."""
    s = scored(500, {50: 0.6, 52: 0.7, 200: 0.99, 300: 0.5, 400: 0.95, 401: 0.9})
    assert top_incidents(s, n=2) == [(200, 200), (400, 401)]
    assert top_incidents(s, n=5) == [(50, 52), (200, 200), (300, 300), (400, 401)]
    assert top_incidents(scored(100, {}), n=3) == []


def test_long_series_get_zoom_panels_short_ones_do_not(tmp_path: Path) -> None:
    """A series longer than ZOOM_AFTER with incidents is drawn taller, with zoom panels."""
    long_png, short_png = tmp_path / "long.png", tmp_path / "short.png"
    plot_detection(long_png, scored(ZOOM_AFTER + 1_000, {700: 0.9, 2_500: 0.99}), "long", 99)
    plot_detection(short_png, scored(400, {100: 0.9}), "short", 99)
    assert png_size(long_png)[1] > 1.5 * png_size(short_png)[1]
    assert png_size(long_png)[0] == png_size(short_png)[0]
