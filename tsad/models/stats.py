"""Statistical forecaster on statsforecast: the fast default (``stats`` / ``auto``).

Model choice, measured on this 2-core machine (benchmarks/README.md):

* MSTL with STL "jumps": 8,640 5-min points with a daily season (288) fit with
  in-sample bands in ~0.23 s; plain MSTL takes ~1.4 s, AutoARIMA ~10 s per 336 points.
* A weekly season too when it is at most ``tsad.series.MAX_WEEKLY`` steps (hourly, 30-min data)
  and two weeks are there: on M4 Hourly it takes OWA from 0.68 to 0.58.
* The trend is forecast by AutoETS choosing its own trend/damping (ZZN) up to
  ``ZZN_MAX_POINTS`` points (M4 MASE 1.26 → 1.13 against a fixed ANN), and by a
  fixed additive-error level model (ANN) on longer series, where ZZN costs ~0.6 s.
* Shorter than two seasons: non-seasonal AutoETS (fast on short series).

statsforecast's bands under-cover on real data (M4 Hourly 95% bands: 85%), so
bands are widened per series, never narrowed, with ``tsad.detect.calibrate``:

* in-sample bands by that stage, as every model's (the residual quantile at the
  level against the band's own half-width); ``insample`` returns the model's band;
* forecasts by the in-sample ratio, then by the same ratio measured out of sample:
  the model is refitted without the last ``holdout`` points, and its errors there
  are compared with its band widened in sample the same way (only the model can do
  that refit). Against the raw holdout band both factors corrected the same
  under-coverage and multiplied (a spiky NAB series, median over refits: 2.45 x 3.03
  = 7.4, against 3.1 with the holdout band widened first);
* and never narrower than the holdout's errors say for their lead (``_lead_floor``):
  the trend model's band grows with lead much faster than the errors do (M4 Hourly:
  σ x3.1 from lead 1 to 25, median |error|/σ 0.62 at leads 1-3 against 0.40 a day
  later), so one factor per band leaves the first leads after a refit too narrow.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from tsad.detect.calibrate import (
    clip_to_range,
    coverage_factor,
    floor_band,
    nest_levels,
    widen,
)
from tsad.errors import ModelFailed, NotEnoughPoints
from tsad.series import (
    Band,
    FloatArray,
    Forecast,
    Series,
    level_label,
    season_length,
    seasons_for,
)
from tsad.settings import ModelSettings

ZZN_MAX_POINTS = 1_500
#: how fast a band may grow with lead, as powers of the model's own growth
GROWTH_POWERS = (0.0, 0.25, 0.5, 0.75, 1.0)


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

        seasons = seasons_for(step_ms, n)
        if seasons:
            # STL's cost grows with the longest season: sample it as sparsely
            jump = _stl_jump(seasons[-1])
            stl = {"seasonal_jump": jump, "trend_jump": jump, "low_pass_jump": jump}
            trend = AutoETS(model="ZZN" if n <= ZZN_MAX_POINTS else "ANN")
            return "MSTL", MSTL(
                season_length=seasons if len(seasons) > 1 else seasons[0],
                trend_forecaster=trend,
                stl_kwargs=stl,
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
        return label, self._run(label, model, y, h, levels)

    @staticmethod
    def _run(
        label: str, model: Any, y: FloatArray, h: int, levels: Sequence[float]
    ) -> dict[str, FloatArray]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out: dict[str, FloatArray] = model.forecast(
                    y=y.astype(np.float64), h=h, level=_sf_levels(levels), fitted=True
                )
        except Exception as exc:  # statsforecast raises bare Exceptions
            raise ModelFailed(f"{label} failed on this series: {exc}") from exc
        return out

    def forecast(self, history: Series, step_ms: int, h: int, levels: Sequence[float]) -> Forecast:
        hist = history.tail(self.settings.fit_window)
        label, out = self._fit(hist.y, step_ms, h, levels)
        ts = hist.ts[-1] + step_ms * np.arange(1, h + 1, dtype=np.int64)
        band = widen(_band(ts, out, "", levels), _insample_factors(out, hist.y, levels))
        if label != "Constant":
            band = self._widen_out_of_sample(band, hist.y, step_ms, h, levels)
        return Forecast(
            clip_to_range(floor_band(band, float(np.min(hist.y))), hist.y), f"stats:{label}"
        )

    def _widen_out_of_sample(
        self, band: Band, y: FloatArray, step_ms: int, h: int, levels: Sequence[float]
    ) -> Band:
        """Refit without the last ``holdout`` points; widen by how badly that band covered."""
        holdout = min(h, max(season_length(step_ms), 12), y.shape[0] // 4)
        if holdout < 8 or y.shape[0] - holdout < self.settings.min_points:
            return band
        try:
            _, out = self._fit(y[:-holdout], step_ms, holdout, levels)
        except (ModelFailed, NotEnoughPoints):
            return band
        actual = y[-holdout:]
        mean = np.asarray(out["mean"], np.float64)
        # the holdout band widened in sample first, as the forecast's own band was: its
        # factor measures only the under-coverage the in-sample factor did not already fix
        pre = _insample_factors(out, y[:-holdout], levels)
        factors: dict[float, float] = {}
        for level in levels:
            lab = level_label(level)
            half = (
                np.where(
                    actual >= mean,
                    np.asarray(out[f"hi-{lab}"]) - mean,
                    mean - np.asarray(out[f"lo-{lab}"]),
                )
                * pre[level]
            )
            factor = coverage_factor(actual - mean, half, level, min_count=8)
            if factor is not None:
                factors[level] = factor
        return _raise_first_leads(band, widen(band, factors), out, actual - mean, pre)

    def insample(self, history: Series, step_ms: int, levels: Sequence[float]) -> Forecast:
        """The model's in-sample band; ``tsad.detect.calibrate.insample`` calibrates it."""
        label, out = self._fit(history.y, step_ms, 1, levels)
        return Forecast(_band(history.ts, out, "fitted", levels), f"stats:{label}")


def _band(ts: Any, out: dict[str, FloatArray], prefix: str, levels: Sequence[float]) -> Band:
    """statsforecast's columns (``mean``/``lo-95``... or ``fitted``/``fitted-lo-95``...)."""
    key = (lambda name: f"{prefix}-{name}") if prefix else (lambda name: name)
    mean = np.asarray(out[prefix or "mean"], np.float64)
    lo: dict[float, FloatArray] = {}
    hi: dict[float, FloatArray] = {}
    for level in levels:
        lab = level_label(level)
        lo[level] = np.asarray(out[key(f"lo-{lab}")], np.float64)
        hi[level] = np.asarray(out[key(f"hi-{lab}")], np.float64)
    return Band(np.asarray(ts, np.int64), mean, lo, hi)


def _insample_factors(
    out: dict[str, FloatArray], y: FloatArray, levels: Sequence[float]
) -> dict[float, float]:
    """Per level, how much the in-sample residuals say the model's band must widen."""
    resid = y - np.asarray(out["fitted"], np.float64)
    factors = {}
    for level in levels:
        lab = level_label(level)
        half = (np.asarray(out[f"fitted-hi-{lab}"]) - np.asarray(out[f"fitted-lo-{lab}"])) / 2
        factors[level] = coverage_factor(resid, half, level) or 1.0
    return factors


def _raise_first_leads(
    raw: Band,
    widened: Band,
    holdout: dict[str, FloatArray],
    errors: FloatArray,
    pre: dict[float, float],
) -> Band:
    """``widened`` raised to ``_lead_floor`` per level: one factor per band cannot fix
    its shape, and where the model's band grows with lead faster than its errors did on
    the holdout (``errors``, against the holdout fit ``holdout`` widened in sample by
    ``pre``), the first leads are too narrow. ``raw`` is the forecast before widening."""
    lo, hi = dict(widened.lo), dict(widened.hi)
    for level in raw.levels:
        lab = level_label(level)
        hold_half = (np.asarray(holdout[f"hi-{lab}"]) - np.asarray(holdout[f"lo-{lab}"])) / 2
        floor = _lead_floor(
            errors, hold_half * pre[level], (raw.hi[level] - raw.lo[level]) / 2, level
        )
        if floor is not None:
            lo[level] = np.minimum(lo[level], widened.mean - floor)
            hi[level] = np.maximum(hi[level], widened.mean + floor)
    nest_levels(sorted(lo), lo, hi)
    return Band(widened.ts, widened.mean, lo, hi)


def _lead_floor(
    errors: FloatArray, hold_half: FloatArray, half: FloatArray, level: float
) -> FloatArray | None:
    """A floor under the forecast's half-widths from how the holdout's errors grew with
    lead: the model's band grows as its own growth to the power that fits those errors
    best (Gaussian likelihood, scale profiled out), scaled to cover them at the level.
    None when the model's own growth fits best (power 1: nothing to add)."""
    ok = np.isfinite(errors) & np.isfinite(hold_half) & (hold_half > 0)
    if ok.sum() < 8 or not ok[0] or half.shape[0] == 0 or not half[0] > 0:
        return None
    err, grow = errors[ok], hold_half[ok] / hold_half[0]
    best, best_nll = 1.0, np.inf
    for power in GROWTH_POWERS:
        prof = hold_half[0] * grow**power
        rms = float(np.sqrt(np.mean((err / prof) ** 2)))
        nll = float(np.sum(np.log(prof))) + err.shape[0] * np.log(max(rms, 1e-300))
        if nll < best_nll:
            best, best_nll = power, nll
    if best >= 1.0:
        return None
    factor = coverage_factor(err, hold_half[0] * grow**best, level, min_count=8) or 1.0
    return np.asarray(half[0] * (half / half[0]) ** best * factor, np.float64)


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
