"""Model-path jobs: top-level functions a ``ModelRunner`` sends to a worker.

Each takes plain arrays and settings (picklable), prepares the series, runs the
requested forecaster and falls back to ``stats`` (``degraded=True``) when the
requested model cannot serve this series or is unreachable; a forecast of a short
hourly series tries ``tsad-base`` first (``tsad.models.short_history``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from tsad.detect import calibrate
from tsad.detect.batch import detect_batch
from tsad.detect.flags import Flagged
from tsad.detect.online import StoredBand, detect_online, lower_bound_of
from tsad.detect.residual_score import seasonal_reference
from tsad.detect.robust import robust_history
from tsad.detect.threshold import DEFAULT_SENSITIVITY
from tsad.errors import BackendError, NotEnoughPoints, TsadError
from tsad.models.short_history import forecast_fallbacks
from tsad.prepare import Prepared, prepare
from tsad.runner import shared_registry
from tsad.series import Band, FloatArray, IntArray, Scored, season_length
from tsad.settings import ModelSettings
from tsad.types import Forecaster

log = logging.getLogger("tsad.jobs")

T = TypeVar("T")


@dataclass(frozen=True)
class Report:
    """What was done to the input and which model ran."""

    model_used: str
    degraded: bool
    freq: str
    filled: int
    duplicates: int
    unsorted: bool
    reason: str | None = None
    #: a refit's scorer primed on the history (``refit_job(prime=True)``)
    scorer: dict[str, Any] | None = None


@dataclass(frozen=True)
class ForecastOutcome:
    band: Band
    report: Report


@dataclass(frozen=True)
class DetectOutcome:
    scored: Scored
    report: Report
    threshold: float = 1.0
    sensitivity: float = DEFAULT_SENSITIVITY


def _with_fallback(
    settings: ModelSettings,
    model: str | None,
    run: Callable[[Forecaster], tuple[T, str]],
    fallbacks: Callable[[str], Sequence[str]] = lambda _: ("stats",),
) -> tuple[T, str, bool, str | None]:
    """``run`` on the requested model; if it cannot serve, on each of
    ``fallbacks(name)`` in turn (the last one's failure is raised)."""
    registry = shared_registry(settings)
    name = registry.resolve(model)
    try:
        result, used = run(registry.get(name))
        return result, used, False, None
    except (NotEnoughPoints, BackendError, ImportError) as exc:
        if name == "stats":
            raise
        reason = exc.detail if isinstance(exc, TsadError) else f"{name} unavailable: {exc}"
    chain = [m for m in fallbacks(name) if m != name]
    for alt in chain[:-1]:
        try:
            result, used = run(registry.get(alt))
        except (NotEnoughPoints, BackendError, ImportError) as exc:
            log.warning("model %s fell back past %s: %s", name, alt, exc)
            continue
        log.warning("model %s fell back to %s: %s", name, alt, reason)
        return result, used, True, reason
    log.warning("model %s fell back to %s: %s", name, chain[-1], reason)
    result, used = run(registry.get(chain[-1]))
    return result, used, True, reason


def _report(p: Prepared, used: str, degraded: bool, reason: str | None) -> Report:
    return Report(used, degraded, p.freq, p.filled, p.duplicates, p.unsorted, reason)


def forecast_job(
    settings: ModelSettings,
    model: str | None,
    ts: IntArray,
    y: FloatArray,
    freq: str | None,
    h: int,
    levels: Sequence[float],
) -> ForecastOutcome:
    p = prepare(ts, y, freq=freq, min_points=settings.min_points)

    def run(f: Forecaster) -> tuple[Band, str]:
        fc = calibrate.forecast(f, p.regular, p.step_ms, h, levels)
        return fc.band, fc.model_used

    def fallbacks(name: str) -> tuple[str, ...]:
        return forecast_fallbacks(name, p.step_ms, len(p.regular))

    band, used, degraded, reason = _with_fallback(settings, model, run, fallbacks)
    return ForecastOutcome(band, _report(p, used, degraded, reason))


def detect_job(
    settings: ModelSettings,
    model: str | None,
    ts: IntArray,
    y: FloatArray,
    freq: str | None,
    level: float,
    mode: str,
    sensitivity: float = DEFAULT_SENSITIVITY,
    max_anomaly_ratio: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DetectOutcome:
    """Score every point; ``progress(done, total)`` is called per refit of an online run."""
    p = prepare(ts, y, freq=freq, min_points=settings.min_points)

    def run(f: Forecaster) -> tuple[Flagged, str]:
        if mode == "online":
            return detect_online(
                p,
                f,
                level,
                sensitivity=sensitivity,
                max_anomaly_ratio=max_anomaly_ratio,
                fit_window=settings.fit_window,
                progress=progress,
            )
        return detect_batch(
            p, f, level, sensitivity=sensitivity, max_anomaly_ratio=max_anomaly_ratio
        )

    flagged, used, degraded, reason = _with_fallback(settings, model, run)
    return DetectOutcome(
        flagged.scored, _report(p, used, degraded, reason), flagged.threshold, sensitivity
    )


def refit_job(
    settings: ModelSettings,
    model: str | None,
    ts: IntArray,
    y: FloatArray,
    step_ms: int | None,
    horizon: int | None,
    level: float,
    prime: bool = False,
) -> tuple[StoredBand, Report]:
    """Fit on a series' stored window and forecast the band the hot path will use.

    With ``prime`` (a series loaded with history but never scored), the series'
    scorer is also run over the history against the in-sample band, so a series
    posted with weeks of history is trusted at once instead of learning anew."""
    from tsad.detect.online import refit_horizon

    p = prepare(ts, y, step_ms=step_ms, min_points=settings.min_points)
    h = horizon or refit_horizon(p.step_ms)

    raw_hist = p.regular.tail(settings.fit_window)
    # anomalies in the stored window must not teach the band (tsad.detect.robust)
    clean = robust_history(raw_hist, p.step_ms)

    def run(f: Forecaster) -> tuple[Band, str]:
        fc = calibrate.forecast(f, clean, p.step_ms, h, [level])
        return fc.band, fc.model_used

    band, used, degraded, reason = _with_fallback(settings, model, run)
    stored = StoredBand(
        start=int(band.ts[0]),
        step_ms=p.step_ms,
        level=level,
        mean=band.mean,
        lo=band.lo[level],
        hi=band.hi[level],
        model_used=used,
        fitted_at=int(time.time() * 1000),
        history_last=int(p.raw.ts[-1]),
        ref=seasonal_reference(clean.y, season_length(p.step_ms), h),
        lower_bound=lower_bound_of(raw_hist.y),
    )
    report = _report(p, used, degraded, reason)
    if prime:
        report = replace(report, scorer=_primed_scorer(settings, used, p, level))
    return stored, report


def _primed_scorer(
    settings: ModelSettings, used: str, p: Prepared, level: float
) -> dict[str, Any] | None:
    """The scorer's state after the history, scored against its in-sample band."""
    registry = shared_registry(settings)
    hist = p.regular.tail(settings.fit_window)
    clean = robust_history(hist, p.step_ms)
    season = season_length(p.step_ms)
    try:
        forecaster = registry.get(registry.resolve(used.split(":", 1)[0]))
        fc = calibrate.insample(forecaster, clean, p.step_ms, [level])
    except (TsadError, ImportError, ValueError):
        return None
    from tsad.detect.flags import primed_state

    b = fc.band
    return primed_state(clean, b.mean, b.lo[level], b.hi[level], level, season)


def insample_job(
    settings: ModelSettings,
    model: str | None,
    ts: IntArray,
    y: FloatArray,
    freq: str | None,
    levels: Sequence[float],
) -> ForecastOutcome:
    """The calibrated in-sample band over the series' own points (on its regular grid)."""
    p = prepare(ts, y, freq=freq, min_points=settings.min_points)

    def run(f: Forecaster) -> tuple[Band, str]:
        fc = calibrate.insample(f, p.regular, p.step_ms, levels)
        return fc.band, fc.model_used

    band, used, degraded, reason = _with_fallback(settings, model, run)
    return ForecastOutcome(band, _report(p, used, degraded, reason))


def each_job(job: Callable[..., T], shared: tuple[Any, ...], items: Sequence[Any]) -> list[T]:
    """``job(*shared[:2], *item, *shared[2:])`` for each item, in one model-process
    hop: what a request carrying many series (the compatibility layers) asks."""
    head, tail = shared[:2], shared[2:]
    return [job(*head, *item, *tail) for item in items]
