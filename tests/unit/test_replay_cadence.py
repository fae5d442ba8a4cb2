"""The online replay (``tsad detect --mode online``, the NAB bench) refits where the
service's hot path would: its figures are the figures users get."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tsad.detect.online import StoredBand, refit_horizon, replay_bands, score_arrivals
from tsad.prepare import prepare
from tsad.series import Band, Forecast, Series

HOUR = 3_600_000
T0 = 1_700_000_000_000


class RecordingForecaster:
    """A flat forecast at the last value; remembers how long each fitted history was."""

    name = "recording"

    def __init__(self) -> None:
        self.fitted_on: list[int] = []

    def min_points(self, step_ms: int) -> int:
        return 48

    def forecast(self, history: Series, step_ms: int, h: int, levels: Sequence[float]) -> Forecast:
        self.fitted_on.append(int(history.y.shape[0]))
        ts = history.ts[-1] + step_ms * np.arange(1, h + 1, dtype=np.int64)
        mean = np.full(h, float(history.y[-1]))
        return Forecast(
            Band(ts, mean, {lv: mean - 1 for lv in levels}, {lv: mean + 1 for lv in levels}),
            self.name,
        )

    def insample(self, history: Series, step_ms: int, levels: Sequence[float]) -> Forecast:
        raise NotImplementedError


def _points_until_refit_due(h: int) -> int:
    """How many arrivals the hot path scores against a fresh ``h``-step band before it
    asks for a refit."""
    band = StoredBand(
        start=T0,
        step_ms=HOUR,
        level=99.0,
        mean=np.zeros(h),
        lo=np.full(h, -1.0),
        hi=np.ones(h),
        model_used="x",
        fitted_at=0,
        history_last=T0 - HOUR,
    )
    for i in range(h):
        _, due = score_arrivals(band, np.array([T0 + i * HOUR], np.int64), np.zeros(1))
        if due:
            return i + 1
    return h


def test_the_replay_refits_at_the_hot_paths_cadence() -> None:
    """Consecutive replay fits are as many points apart as the hot path scores against
    one band before its refit is due (not a whole band)."""
    y = np.sin(np.arange(24 * 20) * 2 * np.pi / 24)
    ts = (T0 + np.arange(y.shape[0]) * HOUR).astype(np.int64)
    rec = RecordingForecaster()
    replay_bands(prepare(ts, y), rec, 99.0)
    gaps = set(np.diff(rec.fitted_on).tolist())
    h = refit_horizon(HOUR)
    assert gaps == {_points_until_refit_due(h)}
    assert _points_until_refit_due(h) < h


def test_after_a_gap_the_replay_scores_against_a_band_fitted_after_it() -> None:
    """A gap longer than the band's reach: as on the hot path, the first point back is
    not scored and triggers the refit; the next points are scored against that band,
    never against a forecast made before the gap."""
    before = np.arange(24 * 10)
    after = before[-1] + 24 * 5 + np.arange(1, 24 * 3)  # five days later
    ts = (T0 + np.r_[before, after] * HOUR).astype(np.int64)
    y = np.r_[np.zeros(before.shape[0]), np.full(after.shape[0], 10.0)]
    bands = replay_bands(prepare(ts, y, step_ms=HOUR), RecordingForecaster(), 99.0)
    first_back = before.shape[0]
    assert np.isnan(bands.mean[first_back])
    np.testing.assert_array_equal(bands.mean[first_back + 1 :], 10.0)


def test_the_replay_fits_on_the_services_window() -> None:
    """As the hot path's refit, each replay fit sees at most the newest ``fit_window``
    points (the service's default unless told otherwise)."""
    from tsad.settings import ModelSettings

    y = np.sin(np.arange(24 * 120) * 2 * np.pi / 24)
    ts = (T0 + np.arange(y.shape[0]) * HOUR).astype(np.int64)
    rec = RecordingForecaster()
    replay_bands(prepare(ts, y), rec, 99.0)
    assert max(rec.fitted_on) == ModelSettings().fit_window
    short = RecordingForecaster()
    replay_bands(prepare(ts, y), short, 99.0, fit_window=100)
    assert max(short.fitted_on) == 100
