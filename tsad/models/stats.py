"""Statistical forecaster on statsforecast: the fast default (``stats`` / ``auto``).

Model choice, measured on this 2-core machine (benchmarks/README.md):

* MSTL with STL "jumps" and an additive ETS trend: 8,640 5-min points with a
  daily season (288) fit with in-sample bands in ~0.23 s; plain MSTL takes ~1.4 s
  and AutoETS alone ~0.6 s, AutoARIMA ~10 s per 336 points.
* Shorter than two seasons: non-seasonal AutoETS (fast on short series).

statsforecast's bands under-cover on real data, so every band is widened by a
per-series factor: the ratio between the in-sample residual quantile at the level
and the model's own in-sample half-width (never narrowed).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from tsad.errors import ModelFailed, NotEnoughPoints
from tsad.series import Band, FloatArray, Forecast, Series, level_label, season_length
from tsad.settings import ModelSettings


def _stl_jump(season: int) -> int:
    return max(1, season // 24)


class StatsForecaster:
    """MSTL (seasonal) or AutoETS (short or non-seasonal), with calibrated bands."""

    name = "stats"

    def __init__(self, settings: ModelSettings | None = None) -> None:
        self.settings = settings or ModelSettings()

    def min_points(self, step_ms: int) -> int:
        return self.settings.min_points

    def _model(self, n: int, step_ms: int) -> tuple[str, Any]:
        from statsforecast.models import MSTL, AutoETS

        season = season_length(step_ms)
        if season > 1 and n >= 2 * season:
            jump = _stl_jump(season)
            stl = {"seasonal_jump": jump, "trend_jump": jump, "low_pass_jump": jump}
            return "MSTL", MSTL(
                season_length=season, trend_forecaster=AutoETS(model="ANN"), stl_kwargs=stl
            )
        return "AutoETS", AutoETS(model="ZZN")

    def _fit(
        self, y: FloatArray, step_ms: int, h: int, levels: Sequence[float]
    ) -> tuple[str, dict[str, FloatArray]]:
        n = y.shape[0]
        if n < self.settings.min_points:
            raise NotEnoughPoints(
                f"need at least {self.settings.min_points} points, got {n}",
                needed=self.settings.min_points,
                got=n,
            )
        label, model = self._model(n, step_ms)
        if np.ptp(y) == 0:
            return "Constant", _constant(y, h, levels)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out: dict[str, FloatArray] = model.forecast(
                    y=y.astype(np.float64), h=h, level=_sf_levels(levels), fitted=True
                )
        except Exception as exc:  # statsforecast raises bare Exceptions
            raise ModelFailed(f"{label} failed on this series: {exc}") from exc
        return label, out

    def forecast(self, history: Series, step_ms: int, h: int, levels: Sequence[float]) -> Forecast:
        hist = history.tail(self.settings.fit_window)
        label, out = self._fit(hist.y, step_ms, h, levels)
        ts = hist.ts[-1] + step_ms * np.arange(1, h + 1, dtype=np.int64)
        band = _band(ts, out, "", levels, hist.y)
        return Forecast(band, f"stats:{label}")

    def insample(self, history: Series, step_ms: int, levels: Sequence[float]) -> Forecast:
        label, out = self._fit(history.y, step_ms, 1, levels)
        band = _band(history.ts, out, "fitted", levels, history.y)
        return Forecast(band, f"stats:{label}")


def _band(
    ts: Any, out: dict[str, FloatArray], prefix: str, levels: Sequence[float], y: FloatArray
) -> Band:
    key = (lambda name: f"{prefix}-{name}") if prefix else (lambda name: name)
    mean = np.asarray(out[prefix or "mean"], np.float64)
    fitted = np.asarray(out["fitted"], np.float64)
    resid = y - fitted
    lo: dict[float, FloatArray] = {}
    hi: dict[float, FloatArray] = {}
    for level in levels:
        lab = level_label(level)
        lo_l = np.asarray(out[key(f"lo-{lab}")], np.float64)
        hi_l = np.asarray(out[key(f"hi-{lab}")], np.float64)
        factor = _calibration(resid, out, lab, level)
        lo[level] = mean - (mean - lo_l) * factor
        hi[level] = mean + (hi_l - mean) * factor
    # bands of ordered levels must nest even after per-level calibration
    for inner, outer in itertools.pairwise(levels):
        lo[outer] = np.minimum(lo[outer], lo[inner])
        hi[outer] = np.maximum(hi[outer], hi[inner])
    return Band(np.asarray(ts, np.int64), mean, lo, hi)


def _calibration(resid: FloatArray, out: dict[str, FloatArray], lab: str, level: float) -> float:
    """How much to widen the model's band so in-sample residuals cover ``level``%."""
    half = (np.asarray(out[f"fitted-hi-{lab}"]) - np.asarray(out[f"fitted-lo-{lab}"])) / 2
    ok = np.isfinite(resid) & np.isfinite(half) & (half > 0)
    if ok.sum() < 10:
        return 1.0
    ratio = np.abs(resid[ok]) / half[ok]
    return float(max(1.0, np.quantile(ratio, level / 100.0)))


def _sf_levels(levels: Sequence[float]) -> list[float | int]:
    """statsforecast names columns from the level as given: pass 95, not 95.0."""
    return [int(lv) if float(lv).is_integer() else float(lv) for lv in levels]


def _constant(y: FloatArray, h: int, levels: Sequence[float]) -> dict[str, FloatArray]:
    """A flat series: the forecast is the value, with a zero-width band."""
    v = float(y[-1])
    out: dict[str, FloatArray] = {"mean": np.full(h, v), "fitted": np.full(y.shape[0], v)}
    for level in levels:
        lab = level_label(level)
        for side in ("lo", "hi"):
            out[f"{side}-{lab}"] = np.full(h, v)
            out[f"fitted-{side}-{lab}"] = np.full(y.shape[0], v)
    return out
