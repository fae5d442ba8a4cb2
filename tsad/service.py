"""Domain orchestration: what each API route and CLI command asks of tsad.

``TsadService`` ties a ``Buffer``, the model registry, a ``ModelRunner`` (the
cold path, off the event loop) and a ``RefitQueue`` together. No web imports:
the API decodes requests into arrays, calls these methods and encodes results.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from msgspec.structs import replace

from tsad.buffer import make_buffer
from tsad.detect.changepoints import ChangePointOutcome
from tsad.detect.incidents import Incident, group_incidents
from tsad.detect.online import StoredBand, score_arrivals
from tsad.detect.residual_score import ScorerState, warmup_points
from tsad.detect.threshold import (
    DEFAULT_SENSITIVITY,
    check_ratio,
    check_sensitivity,
    threshold_for,
    threshold_log_odds,
)
from tsad.errors import InvalidInput, NotEnoughPoints, SeriesNotFound, TsadError
from tsad.feedback.adapt import (
    Adaptation,
    adapted_sensitivity,
    context_flags,
    context_rules,
    drop_expected,
    outside_expected,
    scored_spread,
    with_unscored,
)
from tsad.feedback.component import FeedbackDesk, adaptation_of
from tsad.global_fit import (
    GlobalFitResult,
    global_fit_due,
    global_fit_job,
    pick_series,
    regular,
)
from tsad.jobs import (
    DetectOutcome,
    ForecastOutcome,
    detect_job,
    each_job,
    forecast_job,
    insample_job,
    refit_job,
)
from tsad.limits import check_points
from tsad.models.catalogue import global_models
from tsad.models.registry import ModelRegistry
from tsad.queue import make_refit_queue
from tsad.runner import ModelRunner, shared_registry
from tsad.series import (
    FloatArray,
    IntArray,
    Scored,
    Series,
    check_levels,
    check_series_id,
    season_length,
    unscored,
)
from tsad.settings import Settings
from tsad.state import EMPTY, SeriesMeta, SeriesState
from tsad.types import Buffer, GlobalFitJob, RefitJob, RefitQueue, SeriesInfo

log = logging.getLogger("tsad.service")

#: after a global fit failed (or found no series long enough), wait this long
#: before a refit may queue another one
GLOBAL_RETRY_S = 600.0


@dataclass(frozen=True)
class IngestResult:
    """One append: counts, and every point of the batch scored against the stored band."""

    series_id: str
    accepted: int
    duplicates: int
    unsorted: bool
    scored: Scored
    refit_scheduled: bool

    @property
    def anomalies(self) -> Scored:
        return self.scored.take(np.flatnonzero(self.scored.is_anomaly))


@dataclass(frozen=True)
class SeriesView:
    """A series' info, its stored band (if any) and its detection state."""

    info: SeriesInfo
    band: StoredBand | None
    meta: SeriesMeta
    learning: bool = True
    points_needed: int = 0
    sensitivity: float = DEFAULT_SENSITIVITY
    threshold: float = 1.0
    feedback_count: int = 0
    threshold_offset: float = 0.0
    # flags resembling a labelled false positive need a higher score (context rules)
    context_thresholds: list[dict[str, Any]] = field(default_factory=list)


def anomaly_records(scored: Scored, spread: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Flagged points as plain dicts (what buffers store in the anomaly history), with
    each point's residual scale (``spread``, ``tsad.feedback.adapt.scored_spread``)
    when given: feedback on the flag describes its context with it."""
    idx = np.flatnonzero(scored.is_anomaly)
    if spread is not None:
        rows = anomaly_records(scored)
        for row, i in zip(rows, idx.tolist(), strict=True):
            row["spread"] = float(spread[i])
        return rows
    return [
        {
            "ts": int(scored.ts[i]),
            "value": float(scored.value[i]),
            "expected": float(scored.expected[i]),
            "lo": float(scored.lo[i]),
            "hi": float(scored.hi[i]),
            "direction": int(scored.direction[i]),
            "score": float(scored.score[i]),
            "severity": float(scored.severity[i]),
        }
        for i in idx
    ]


class TsadService:
    """The operations tsad offers, independent of HTTP or the command line."""

    def __init__(
        self,
        settings: Settings,
        *,
        buffer: Buffer | None = None,
        runner: ModelRunner | None = None,
        scheduler: RefitQueue | None = None,
        consume: bool = True,
    ) -> None:
        """``consume``: work the refit queue in this process (False in ``tsad worker``,
        whose loop does; with Redis, only when ``TSAD_EMBEDDED_WORKER`` is on)."""
        self.settings = settings
        self.buffer = buffer if buffer is not None else make_buffer(settings.buffer)
        self.registry: ModelRegistry = shared_registry(settings.models)
        self.runner = runner or ModelRunner(settings.models.runner, settings.models.model_workers)
        self.scheduler: RefitQueue = scheduler or make_refit_queue(settings)
        self._own_scheduler = scheduler is None
        shared = bool(settings.buffer.redis_url)
        self._consume = consume and (settings.worker.embedded or not shared)
        # a queue of its own that no other process reads: consumed from the first job
        self._auto_start = self._consume and self._own_scheduler and not shared
        # global neural fits (minutes) get a model process of their own, so the
        # refits and forecasts that requests wait on are not queued behind them
        self.global_runner = ModelRunner(settings.models.runner, 1)
        self._global_failed: dict[tuple[str, int], float] = {}
        self._band_cache: dict[str, StoredBand] = {}
        # observers of the hot and cold paths (outbound alerts, metrics)
        self.ingest_listeners: list[Callable[[IngestResult], Awaitable[None]]] = []
        self.fit_listeners: list[Callable[[float, bool], None]] = []
        # operator feedback: per-series adaptation and the learned alert ranker
        self.feedback = FeedbackDesk(self)
        # groups of series: multivariate detection (tsad.multivariate.groups)
        from tsad.multivariate.groups import GroupService

        self.groups = GroupService(self)

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Begin consuming refit work in this process, when it should (``tsad serve``);
        idempotent. A service's own in-process queue starts on its first job anyway."""
        if self._consume:
            await self.scheduler.start(self.run)

    async def schedule(self, job: RefitJob) -> bool:
        """Queue refit work (never waits for it)."""
        if self._auto_start:
            await self.scheduler.start(self.run)
        return await self.scheduler.schedule(job)

    async def close(self) -> None:
        await self.feedback.stop()
        await self.scheduler.stop()
        if self._own_scheduler:
            await self.scheduler.close()
        await self.groups.close()
        self.runner.close()
        self.global_runner.close()
        await self.buffer.close()

    async def ready(self) -> bool:
        try:
            return await self.buffer.ping()
        except Exception:
            return False

    # ----------------------------------------------------------------- hot path

    async def ingest(
        self,
        series_id: str,
        ts: IntArray,
        y: FloatArray,
        *,
        freq: str | None = None,
        model: str | None = None,
        sensitivity: float | None = None,
    ) -> IngestResult:
        """Append points, score them against the stored band, queue a refit if due.

        ``sensitivity`` given here is stored for the series (later appends use it)."""
        check_series_id(series_id)
        self._check_batch(ts.shape[0])
        if model is not None:
            self.registry.resolve(model)
        if sensitivity is not None:
            sensitivity = check_sensitivity(sensitivity)
        result = await self.buffer.append(series_id, ts, y)
        state = await self.buffer.get_state(series_id) or EMPTY
        if (freq or model or sensitivity is not None) and _meta_changes(
            state.meta, freq, model, sensitivity
        ):
            meta = state.meta
            if freq:
                from tsad.series import parse_freq

                meta = replace(meta, step_ms=parse_freq(freq), freq_given=freq)
            if model:
                meta = replace(meta, model=model)
            if sensitivity is not None:
                meta = replace(meta, sensitivity=sensitivity)
            state = replace(state, meta=meta)
            await self.buffer.put_state(series_id, state)
        band = self._band(series_id, state)
        unsorted = bool(ts.shape[0] > 1 and np.any(np.diff(ts) < 0))
        if unsorted:
            order = np.argsort(ts, kind="stable")
            ts, y = ts[order], y[order]
        adaptation = adaptation_of(state)
        sens = self._sensitivity(state, adaptation)
        scorer = await self.buffer.get_scorer(series_id) if band is not None else None
        # arrivals in an `expected` range are neither scored nor learnt (most series have none)
        keep = outside_expected(ts, adaptation.expected) if adaptation.expected else None
        flagged, due = score_arrivals(
            band,
            ts if keep is None else ts[keep],
            y if keep is None else y[keep],
            ScorerState.from_state(scorer) if scorer else None,
            sens,
        )
        if flagged is None:
            scored = unscored(ts, y)
        else:
            scored = flagged.scored if keep is None else with_unscored(flagged.scored, ts, y, keep)
            await self.buffer.put_scorer(series_id, flagged.state.to_state())
        if scored.is_anomaly.any():
            spread = scored_spread(scored, sens)
            if adaptation.signatures:
                # a flag resembling a labelled false positive needs its higher threshold
                base = threshold_log_odds(self.base_sensitivity(state))
                step = int(state.meta.step_ms or 60_000)
                now = time.time() * 1000
                scored = context_flags(scored, spread, adaptation, base, now, step)
            if scored.is_anomaly.any():
                await self.buffer.add_anomalies(series_id, anomaly_records(scored, spread))
        scheduled = await self.schedule(series_id) if due else False
        ingested = IngestResult(
            series_id=series_id,
            accepted=result.accepted,
            duplicates=result.duplicates,
            unsorted=unsorted,
            scored=scored,
            refit_scheduled=scheduled,
        )
        for listener in self.ingest_listeners:
            try:
                await listener(ingested)
            except Exception:  # a listener (alerts, metrics) must never fail an ingest
                log.exception("ingest listener %r failed", listener)
        return ingested

    async def _needs_priming(self, series_id: str) -> bool:
        """No scorer yet, or one still in its warm-up (e.g. a restart lost it, or points
        arrived before the first band): the refit primes it from the history."""
        raw = await self.buffer.get_scorer(series_id)
        return raw is None or not ScorerState.from_state(raw).warm

    def base_sensitivity(self, state: SeriesState) -> float:
        """The series' sensitivity as set (stored, else the setting)."""
        stored = state.meta.sensitivity
        return float(stored) if stored is not None else self.settings.models.sensitivity

    def series_sensitivity(self, state: SeriesState, adaptation: Adaptation | None = None) -> float:
        """The sensitivity the series is flagged at now: as set, moved by its feedback
        (``adaptation``: the state's, when the caller has it already)."""
        step = int(state.meta.step_ms or 60_000)
        moved = adaptation if adaptation is not None else adaptation_of(state)
        return adapted_sensitivity(self.base_sensitivity(state), moved, time.time() * 1000, step)

    _sensitivity = series_sensitivity

    def _band(self, series_id: str, state: SeriesState) -> StoredBand | None:
        raw = state.band
        if raw is None:
            self._band_cache.pop(series_id, None)
            return None
        cached = self._band_cache.get(series_id)
        if cached is not None and cached.fitted_at == raw.fitted_at:
            return cached
        band = StoredBand.from_state(raw)
        self._band_cache[series_id] = band
        return band

    def _check_batch(self, n: int) -> None:
        check_points(n, self.settings.api.max_points_per_request)

    # ----------------------------------------------------------------- cold path

    async def run(self, job: RefitJob) -> object:
        """Do one piece of refit work: a series' refit or a global fit."""
        if isinstance(job, GlobalFitJob):
            return await self.fit_global(job.kind, job.step_ms)
        return await self.refit(job)

    async def refit(self, series_id: str) -> StoredBand | None:
        """Fit on the stored window and store the band the hot path scores against."""
        models = self.settings.models
        window = await self.buffer.window(series_id, limit=models.fit_window)
        if len(window) < models.min_points:
            return None
        state = await self.buffer.get_state(series_id) or EMPTY
        meta = state.meta
        window = drop_expected(window, adaptation_of(state).expected)
        started = time.perf_counter()
        try:
            stored, report = await self.runner.run(
                refit_job,
                models,
                meta.model,
                window.ts,
                window.y,
                meta.step_ms,
                None,
                models.detect_level,
                await self._needs_priming(series_id),
                timeout=self.settings.api.request_deadline_s,
            )
        except NotEnoughPoints:
            return None
        except Exception as exc:  # raised or out of time: this series only, served by fallback
            self._fitted(time.perf_counter() - started, ok=False)
            return await self._fall_back(series_id, window, exc)
        self._fitted(time.perf_counter() - started, ok=True)
        # re-read: points or metadata may have changed while the model ran
        state = await self.buffer.get_state(series_id) or EMPTY
        meta = replace(
            state.meta,
            last_error=None,
            failed_at=None,
            model_used=report.model_used,
            degraded=report.degraded,
            freq=report.freq,
            step_ms=stored.step_ms,
            fitted_at=stored.fitted_at,
        )
        await self.buffer.put_state(series_id, replace(state, band=stored.to_state(), meta=meta))
        if report.scorer is not None and await self._needs_priming(series_id):
            await self.buffer.put_scorer(series_id, report.scorer)
        # a model with a global fit (neural, ensemble) asked for: keep that fit fresh;
        # also after a fallback, which may be the ensemble waiting for its first one
        asked = self.registry.resolve(meta.model)
        if asked in global_models():
            await self._queue_global_fit(asked, stored.step_ms)
        return stored

    async def _queue_global_fit(self, kind: str, step_ms: int) -> None:
        failed = self._global_failed.get((kind, step_ms))
        if failed is not None and time.monotonic() - failed < GLOBAL_RETRY_S:
            return
        if global_fit_due(self.settings.models, self.registry.get(kind), step_ms):
            await self.schedule(GlobalFitJob(kind, step_ms))

    async def fit_global(self, kind: str, step_ms: int) -> GlobalFitResult | None:
        """Retrain the global ``kind`` model at ``step_ms`` on the stored series fitted
        with it, unless a fresh one exists; then queue refits of those series."""
        models = self.settings.models
        if not global_fit_due(models, self.registry.get(kind), step_ms):
            return None
        infos = await self.buffer.list_series()
        ids = pick_series(
            infos, kind, step_ms, self.registry.resolve, models.neural_global_max_series
        )
        histories = []
        for sid in ids:
            window = await self.buffer.window(sid, limit=models.fit_window)
            if len(window) >= models.min_points:
                histories.append(regular(window, step_ms))
        if not histories:  # nothing to train on yet: do not look again at every refit
            self._global_failed[(kind, step_ms)] = time.monotonic()
            return None
        try:
            result = await self.global_runner.run(
                global_fit_job,
                models,
                kind,
                step_ms,
                histories,
                timeout=models.neural_global_deadline_s,
            )
        except NotEnoughPoints as exc:  # no series long enough yet: the bootstrap stays
            log.info("global %s fit at step %d ms skipped: %s", kind, step_ms, exc.detail)
            self._global_failed[(kind, step_ms)] = time.monotonic()
            return None
        except TsadError:
            self._global_failed[(kind, step_ms)] = time.monotonic()
            raise
        self._global_failed.pop((kind, step_ms), None)
        log.info(
            "global %s model at step %d ms retrained on %d series (%d points, %d steps) in %.1f s",
            kind,
            step_ms,
            result.series,
            result.points,
            result.max_steps,
            result.seconds,
        )
        for sid in ids:
            await self.schedule(sid)
        return result

    async def _fall_back(self, series_id: str, window: Series, exc: Exception) -> StoredBand | None:
        """Mark the series (meta ``last_error``, ``failed_at``) and store a seasonal-naive
        band, so it stays scored and is not refitted again until half of it is used."""
        from tsad.detect.fallback import fallback_band

        detail = exc.detail if isinstance(exc, TsadError) else f"{type(exc).__name__}: {exc}"
        log.warning("refit of series %s failed, serving the fallback band: %s", series_id, detail)
        state = await self.buffer.get_state(series_id) or EMPTY
        meta = replace(state.meta, last_error=detail[:500], failed_at=int(time.time() * 1000))
        models = self.settings.models
        try:
            stored: StoredBand | None = fallback_band(
                window.ts, window.y, meta.step_ms, models.detect_level, models.min_points
            )
        except TsadError:
            stored = None
        if stored is not None:
            meta = replace(
                meta, model_used=stored.model_used, degraded=True, fitted_at=stored.fitted_at
            )
            state = replace(state, band=stored.to_state())
        await self.buffer.put_state(series_id, replace(state, meta=meta))
        if stored is not None and await self._needs_priming(series_id):
            from tsad.detect.fallback import fallback_scorer

            scorer = fallback_scorer(
                window.ts, window.y, stored.step_ms, models.detect_level, models.min_points
            )
            await self.buffer.put_scorer(series_id, scorer)
        return stored

    def _fitted(self, seconds: float, *, ok: bool) -> None:
        for listener in self.fit_listeners:
            try:
                listener(seconds, ok)
            except Exception:
                log.exception("fit listener %r failed", listener)

    async def forecast(
        self,
        *,
        series_id: str | None = None,
        points: tuple[IntArray, FloatArray] | None = None,
        h: int,
        levels: Sequence[float] = (80.0, 95.0),
        model: str | None = None,
        freq: str | None = None,
    ) -> ForecastOutcome:
        """Forecast ``h`` steps after a stored series or inline points."""
        max_h = self.settings.models.max_horizon
        if not isinstance(h, int) or isinstance(h, bool) or not 1 <= h <= max_h:
            raise InvalidInput(f"h must be an integer from 1 to {max_h}, got {h!r}", max_h=max_h)
        lv = check_levels(levels)
        self.registry.resolve(model)
        ts, y, freq = await self._source(series_id, points, freq)
        return await self.runner.run(
            forecast_job,
            self.settings.models,
            model,
            ts,
            y,
            freq,
            h,
            lv,
            timeout=self.settings.api.request_deadline_s,
        )

    async def detect(
        self,
        *,
        series_id: str | None = None,
        points: tuple[IntArray, FloatArray] | None = None,
        level: float | None = None,
        model: str | None = None,
        mode: str = "batch",
        freq: str | None = None,
        sensitivity: float | None = None,
        max_anomaly_ratio: float | None = None,
    ) -> DetectOutcome:
        """Score every point of a stored series or inline points (batch or online).

        ``sensitivity`` defaults to the stored series' own, else the setting;
        ``max_anomaly_ratio`` caps the share of points this request flags."""
        lv = check_levels([self.settings.models.detect_level if level is None else level])[0]
        if mode not in ("batch", "online"):
            raise InvalidInput(f"mode must be 'batch' or 'online', got {mode!r}")
        ratio = check_ratio(max_anomaly_ratio)
        self.registry.resolve(model)
        ts, y, freq = await self._source(series_id, points, freq)
        if sensitivity is None:
            state = (await self.buffer.get_state(series_id) or EMPTY) if series_id else EMPTY
            sens = self._sensitivity(state)
        else:
            sens = check_sensitivity(sensitivity)
        return await self.runner.run(
            detect_job,
            self.settings.models,
            model,
            ts,
            y,
            freq,
            lv,
            mode,
            sens,
            ratio,
            timeout=self.settings.api.request_deadline_s,
        )

    async def forecast_each(
        self,
        series: Sequence[tuple[IntArray, FloatArray]],
        *,
        h: int,
        levels: Sequence[float],
        model: str | None = None,
        freq: str | None = None,
        insample: bool = False,
    ) -> list[ForecastOutcome]:
        """``forecast`` (or, with ``insample``, the in-sample band) of many inline series
        in one model job, as a request carrying many series (TimeGPT's) asks."""
        max_h = self.settings.models.max_horizon
        if not insample and not 1 <= h <= max_h:
            raise InvalidInput(f"h must be an integer from 1 to {max_h}, got {h!r}", max_h=max_h)
        lv = check_levels(levels)
        self.registry.resolve(model)
        self._check_batch(sum(int(ts.shape[0]) for ts, _ in series))
        models = self.settings.models
        job, shared = (
            (insample_job, (models, model, freq, lv))
            if insample
            else (forecast_job, (models, model, freq, h, lv))
        )
        return await self.runner.run(
            each_job, job, shared, list(series), timeout=self.settings.api.request_deadline_s
        )

    async def detect_each(
        self,
        series: Sequence[tuple[IntArray, FloatArray]],
        *,
        level: float,
        model: str | None = None,
        mode: str = "batch",
        freq: str | None = None,
    ) -> list[DetectOutcome]:
        """``detect`` of many inline series in one model job (the same flags and score
        as every other path), at the default sensitivity."""
        lv = check_levels([level])[0]
        if mode not in ("batch", "online"):
            raise InvalidInput(f"mode must be 'batch' or 'online', got {mode!r}")
        self.registry.resolve(model)
        self._check_batch(sum(int(ts.shape[0]) for ts, _ in series))
        shared = (self.settings.models, model, freq, lv, mode, self._sensitivity(EMPTY), None)
        return await self.runner.run(
            each_job, detect_job, shared, list(series), timeout=self.settings.api.request_deadline_s
        )

    async def changepoints(
        self,
        *,
        series_id: str | None = None,
        points: tuple[IntArray, FloatArray] | None = None,
        freq: str | None = None,
        period: int | None = None,
        window: int | None = None,
        threshold: float | None = None,
        mode: str = "batch",
    ) -> ChangePointOutcome:
        """Change points of a stored series or inline points, with a confidence per point."""
        from tsad.detect.changepoints import DEFAULT_THRESHOLD, DEFAULT_WINDOW, changepoint_job

        ts, y, freq = await self._source(series_id, points, freq)
        return await self.runner.run(
            changepoint_job,
            self.settings.models.min_points,
            ts,
            y,
            freq,
            period,
            DEFAULT_WINDOW if window is None else window,
            DEFAULT_THRESHOLD if threshold is None else threshold,
            mode,
            timeout=self.settings.api.request_deadline_s,
        )

    async def _source(
        self,
        series_id: str | None,
        points: tuple[IntArray, FloatArray] | None,
        freq: str | None,
    ) -> tuple[IntArray, FloatArray, str | None]:
        if (series_id is None) == (points is None):
            raise InvalidInput("give exactly one of 'series_id' or 'points'")
        if points is not None:
            self._check_batch(points[0].shape[0])
            return points[0], points[1], freq
        assert series_id is not None
        check_series_id(series_id)
        window = await self.buffer.window(series_id)
        if len(window) == 0:
            raise SeriesNotFound(f"series {series_id!r} does not exist")
        if freq is None:
            state = await self.buffer.get_state(series_id) or EMPTY
            step = state.meta.step_ms
            if step:
                from tsad.series import freq_alias

                freq = freq_alias(int(step))
        return window.ts, window.y, freq

    # ----------------------------------------------------------------- reads

    async def list_series(self) -> list[SeriesInfo]:
        return await self.buffer.list_series()

    async def series(self, series_id: str) -> SeriesView:
        check_series_id(series_id)
        info = await self.buffer.info(series_id)
        if info is None:
            raise SeriesNotFound(f"series {series_id!r} does not exist")
        state = await self.buffer.get_state(series_id) or EMPTY
        band = self._band(series_id, state)
        sens = self._sensitivity(state)
        raw = await self.buffer.get_scorer(series_id)
        step = band.step_ms if band is not None else state.meta.step_ms
        season = season_length(int(step)) if step else 1
        need = warmup_points(season)
        scored_n = int(raw.get("n", 0)) if raw else 0
        # points before the first band are not scored: they count as still needed
        before_band = (
            0 if band is not None else max(0, self.settings.models.min_points - info.count)
        )
        needed = max(0, need - scored_n) + before_band
        return SeriesView(
            info,
            band,
            state.meta,
            learning=needed > 0,
            points_needed=needed,
            sensitivity=self.base_sensitivity(state),
            threshold=threshold_for(sens),
            feedback_count=adaptation_of(state).count,
            threshold_offset=threshold_log_odds(sens)
            - threshold_log_odds(self.base_sensitivity(state)),
            context_thresholds=context_rules(
                adaptation_of(state), threshold_log_odds(self.base_sensitivity(state))
            ),
        )

    async def points(self, series_id: str, start: int | None, end: int | None) -> Series:
        check_series_id(series_id)
        if await self.buffer.info(series_id) is None:
            raise SeriesNotFound(f"series {series_id!r} does not exist")
        return await self.buffer.window(series_id, start, end)

    async def anomalies(
        self, series_id: str, start: int | None, end: int | None
    ) -> list[dict[str, Any]]:
        check_series_id(series_id)
        if await self.buffer.info(series_id) is None:
            raise SeriesNotFound(f"series {series_id!r} does not exist")
        return await self.buffer.anomalies(series_id, start, end)

    async def incidents(self, series_id: str, start: int | None, end: int | None) -> list[Incident]:
        """Flags of one episode grouped (``tsad.detect.incidents``)."""
        records = await self.anomalies(series_id, start, end)
        info = await self.buffer.info(series_id)
        state = await self.buffer.get_state(series_id) or EMPTY
        step = state.meta.step_ms or 60_000
        return group_incidents(records, int(step), info.last if info is not None else None)

    async def delete(self, series_id: str) -> None:
        check_series_id(series_id)
        self._band_cache.pop(series_id, None)
        if not await self.buffer.delete(series_id):
            raise SeriesNotFound(f"series {series_id!r} does not exist")


def _meta_changes(
    meta: SeriesMeta, freq: str | None, model: str | None, sensitivity: float | None
) -> bool:
    return (
        (model is not None and meta.model != model)
        or (freq is not None and meta.freq_given != freq)
        or (sensitivity is not None and meta.sensitivity != sensitivity)
    )
