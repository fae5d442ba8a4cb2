"""Statistical forecaster on statsforecast: the fast default (``stats`` / ``auto``).

Model choice, measured on this 2-core machine (benchmarks/README.md):

* MSTL with STL "jumps": 8,640 5-min points with a daily season (288) fit with
  in-sample bands in ~0.23 s; plain MSTL takes ~1.4 s, AutoARIMA ~10 s per 336 points.
* A weekly season too when it is at most ``MAX_WEEKLY`` steps (hourly, 30-min data)
  and two weeks are there: on M4 Hourly it takes OWA from 0.68 to 0.58.
* The trend is forecast by AutoETS choosing its own trend/damping (ZZN) up to
  ``ZZN_MAX_POINTS`` points (M4 MASE 1.26 → 1.13 against a fixed ANN), and by a
  fixed additive-error level model (ANN) on longer series, where ZZN costs ~0.6 s.
* Shorter than two seasons: non-seasonal AutoETS (fast on short series).

statsforecast's bands under-cover on real data (M4 Hourly 95% bands: 85%), so
bands are widened per series, never narrowed:

* in-sample bands by the ratio between the residual quantile at the level and the
  model's own in-sample half-width;
* forecasts by the same ratio measured out of sample: the model is refitted without
  the last ``holdout`` points, and its errors there are compared with its band.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tsad.errors import ModelFailed, NotEnoughPoints
from tsad.series import Band, FloatArray, Forecast, Series, level_label, season_length
from tsad.settings import ModelSettings

MAX_WEEKLY = 1_000
ZZN_MAX_POINTS = 1_500


def _stl_jump(season: int) -> int:
    return max(1, season // 24)


def seasons_for(step_ms: int, n: int) -> list[int]:
    """Seasonal periods MSTL should model for ``n`` points at this step."""
    daily = season_length(step_ms)
    if daily <= 1 or n < 2 * daily:
        return []
    out = [daily]
    weekly = 7 * daily if daily != 7 else 0
    if 0 < weekly <= MAX_WEEKLY and n >= 2 * weekly:
        out.append(weekly)
    return out


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
        # anomalies must not teach the model: fit with them replaced by what the
        # neighbouring seasons show there, so one spike never returns as a ghost
        mask, clean = outliers(y, season_length(step_ms))
        # a level shift is learned at once: the history before it is moved to the new
        # level, so the band re-anchors instead of widening for the whole fit window
        clean, shifted = align_level_shift(clean, season_length(step_ms))
        out = self._run(label, model, clean, h, levels)
        if mask.any() or shifted:
            out["cleaned"] = clean
        return label, out

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
        y = np.asarray(out.get("cleaned", hist.y), np.float64)
        band = _band(ts, out, "", levels, y)
        if label != "Constant":
            band = self._widen_out_of_sample(band, y, step_ms, h, levels)
        return Forecast(
            clip_band(floor_band(band, float(np.min(hist.y))), hist.y), f"stats:{label}"
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
        # widen for spread, not for a level the full refit has already caught: a level
        # shift inside the holdout is a bias of the shorter fit, removed here
        mean = mean + float(np.median(actual - mean))
        lo, hi = dict(band.lo), dict(band.hi)
        for level in levels:
            lab = level_label(level)
            half = np.where(
                actual >= mean,
                np.asarray(out[f"hi-{lab}"]) - mean,
                mean - np.asarray(out[f"lo-{lab}"]),
            )
            ok = np.isfinite(half) & (half > 0)
            if ok.sum() < 8:
                continue
            factor = float(max(1.0, np.quantile(np.abs(actual - mean)[ok] / half[ok], level / 100)))
            lo[level] = band.mean - (band.mean - band.lo[level]) * factor
            hi[level] = band.mean + (band.hi[level] - band.mean) * factor
        _nest(levels, lo, hi)
        return Band(band.ts, band.mean, lo, hi)

    def insample(self, history: Series, step_ms: int, levels: Sequence[float]) -> Forecast:
        label, out = self._fit(history.y, step_ms, 1, levels)
        y = np.asarray(out.get("cleaned", history.y), np.float64)
        band = _band(history.ts, out, "fitted", levels, y)
        return Forecast(clip_band(band, history.y), f"stats:{label}")


#: a point this many robust σ (MAD) off its neighbouring seasons is an outlier the
#: refit must not learn
OUTLIER_Z = 5.0


def seasonal_baseline(y: FloatArray, season: int) -> FloatArray:
    """Per point, the median of the same phase one to three seasons either side (the
    point itself left out; neighbouring points for a series with no season): a
    baseline one spike cannot bend, unlike a fitted seasonal component."""
    lag = season if season > 1 else 1
    n = y.shape[0]
    cols = []
    for k in (-3, -2, -1, 1, 2, 3):
        idx = np.arange(n) + k * lag
        cols.append(np.where((idx >= 0) & (idx < n), y[np.clip(idx, 0, n - 1)], np.nan))
    stacked = np.vstack(cols)
    out = np.full(n, np.nan)
    ok = ~np.isnan(stacked).all(axis=0)
    out[ok] = np.nanmedian(stacked[:, ok], axis=0)
    return out


def outliers(y: FloatArray, season: int) -> tuple[npt.NDArray[np.bool_], FloatArray]:
    """Points the refit must not learn, and the values to learn instead.

    A point is an outlier when it lies past ``OUTLIER_Z`` robust σ from its seasonal
    baseline, in a run no longer than a twelfth of a season (at least 3 points).
    Longer runs are a changed regime the model must follow, and a run reaching the
    last point may be the start of one (it is judged at the next refit)."""
    base = seasonal_baseline(y, season)
    resid = y - base
    ok = np.isfinite(resid)
    none = np.zeros(y.shape[0], bool)
    if ok.sum() < 10:
        return none, y
    med = float(np.median(resid[ok]))
    mad = 1.4826 * float(np.median(np.abs(resid[ok] - med)))
    if mad <= 0:
        return none, y
    far = ok & (np.abs(resid - med) > OUTLIER_Z * mad)
    max_run = max(3, season // 12)
    mask = none.copy()
    idx = np.flatnonzero(np.diff(np.r_[0, far.astype(np.int8), 0]))
    for start, stop in zip(idx[::2], idx[1::2], strict=True):
        if stop - start <= max_run and stop < y.shape[0]:
            mask[start:stop] = True
    return mask, np.where(mask, base, y)


#: a level shift must stand this many noise σ clear of chance (two-sample t-like)
SHIFT_T = 12.0


def align_level_shift(y: FloatArray, season: int) -> tuple[FloatArray, bool]:
    """Find the largest abrupt level shift in ``y`` (deseasonalised by the median of
    each phase) and move the points before it by the shift, so a model sees one level.

    A shift counts when it stands ``SHIFT_T`` noise σ (robust, from first differences)
    clear, is at least 4 σ, and is abrupt: the points right around it carry at least
    80% of it (a steady trend is no shift). Returns (aligned y, whether it shifted)."""
    n = y.shape[0]
    m = max(6, season // 4)
    if n < 4 * m:
        return y, False
    x = y.astype(np.float64)
    if season > 1:
        phase = np.arange(n) % season
        med = np.array([np.median(x[phase == p]) for p in range(season)])
        x = x - med[phase]
    d = np.diff(x)
    sigma = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(2.0)
    if sigma <= 0:
        return y, False
    c = np.r_[0.0, np.cumsum(x)]
    s = np.arange(m, n - m + 1)
    before = c[s] / s
    after = (c[n] - c[s]) / (n - s)
    delta = after - before
    t = np.abs(delta) / (sigma * np.sqrt(1.0 / s + 1.0 / (n - s)))
    i = int(np.argmax(t))
    cut, shift = int(s[i]), float(delta[i])
    local = float(np.mean(x[cut : cut + m]) - np.mean(x[cut - m : cut]))
    if t[i] < SHIFT_T or abs(shift) < 4 * sigma or abs(local) < 0.8 * abs(shift):
        return y, False
    out = y.astype(np.float64).copy()
    out[:cut] += local  # the jump itself: a trend on either side stays a trend
    return out, True


def floor_band(band: Band, floor: float) -> Band:
    """Lift the forecast where it dips below ``floor`` (the lowest value in the fit
    window), moving the band with it: a series is not forecast below anything it has
    shown. On M4 Hourly this took ``stats`` from OWA 0.583 to 0.553 (coverage 0.94
    either way) and NAB standard from 70.3 to 71.3 (benchmarks/README.md)."""
    lift = np.maximum(band.mean, floor) - band.mean
    if not lift.any():
        return band
    return Band(
        band.ts,
        band.mean + lift,
        {lv: v + lift for lv, v in band.lo.items()},
        {lv: v + lift for lv, v in band.hi.items()},
    )


def clip_band(band: Band, y: FloatArray) -> Band:
    """A series that has never gone below zero gets no band below zero (a count, a
    rate): the band, not only the mean, stays in the range the series can take."""
    if y.shape[0] == 0 or float(np.min(y)) < 0.0:
        return band
    return Band(
        band.ts,
        np.maximum(band.mean, 0.0),
        {lv: np.maximum(v, 0.0) for lv, v in band.lo.items()},
        {lv: np.maximum(v, 0.0) for lv, v in band.hi.items()},
    )


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
    _nest(levels, lo, hi)
    return Band(np.asarray(ts, np.int64), mean, lo, hi)


def _nest(
    levels: Sequence[float], lo: dict[float, FloatArray], hi: dict[float, FloatArray]
) -> None:
    """Bands of ordered levels must nest even after per-level calibration."""
    for inner, outer in itertools.pairwise(sorted(levels)):
        lo[outer] = np.minimum(lo[outer], lo[inner])
        hi[outer] = np.maximum(hi[outer], hi[inner])


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
