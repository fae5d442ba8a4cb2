"""TimeGPT (Nixtla's hosted model) behind the ``Forecaster`` protocol, never allowed
to hang a request.

* **Deadline.** The SDK retries for up to six minutes by default. Every call here
  runs the SDK in its own daemon thread with retries bounded by the deadline
  (``TSAD_TIMEGPT_DEADLINE_S``), and the caller stops waiting when it passes: it
  gets ``UpstreamTimeout``; an abandoned thread ends by itself within about
  twice the deadline (its HTTP timeout and retry budget are the deadline).
* **Errors.** Unreachable → ``UpstreamUnavailable``; an HTTP error answer →
  ``UpstreamError`` saying what TimeGPT objected to. All are ``BackendError``s,
  which the service answers with the ``stats`` fallback and ``degraded: true``.
* **Secrets.** The API key is scrubbed from every message tsad builds and from
  the SDK's own log records; exceptions are raised ``from None`` so no SDK
  traceback (which may quote a response body) is chained.
* **Logging.** ``import nixtla`` calls ``logging.basicConfig(level=INFO)`` and sets
  the ``httpx`` logger's level: ``import_nixtla`` undoes both.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

import numpy as np

from tsad.errors import (
    NotEnoughPoints,
    TsadError,
    UpstreamError,
    UpstreamTimeout,
)
from tsad.models.timegpt_sdk import REDACT, SDK_LOGGER, import_nixtla, translate
from tsad.series import Band, FloatArray, Forecast, Scored, Series, freq_alias, level_label
from tsad.settings import ModelSettings

T = TypeVar("T")


class TimeGPTForecaster:
    """Forecasts and detects with TimeGPT through the ``nixtla`` SDK, with a deadline."""

    name = "timegpt"

    def __init__(self, settings: ModelSettings | None = None, model: str | None = None) -> None:
        self.settings = settings or ModelSettings()
        self.model = model  # None: the SDK's default TimeGPT model
        self.deadline_s = self.settings.timegpt_deadline_s
        self._client: Any = None
        self._lock = threading.Lock()
        if self.settings.timegpt_api_key:
            REDACT.secrets.add(self.settings.timegpt_api_key)

    def min_points(self, step_ms: int) -> int:
        return self.settings.min_points

    # ------------------------------------------------------------------ Forecaster

    def forecast(self, history: Series, step_ms: int, h: int, levels: Sequence[float]) -> Forecast:
        self._check(history)
        wire = _wire_levels(levels)
        out = self._call(
            lambda c: c.forecast(
                df=_frame(history),
                h=h,
                freq=freq_alias(step_ms),
                level=wire or None,
                **self._model_kw(),
            )
        )
        if len(out) != h:
            raise UpstreamError(f"TimeGPT answered {len(out)} steps, {h} were asked")
        ts = history.ts[-1] + step_ms * np.arange(1, h + 1, dtype=np.int64)
        return Forecast(_band(out, ts, levels), "timegpt")

    def insample(self, history: Series, step_ms: int, levels: Sequence[float]) -> Forecast:
        """In-sample bands from TimeGPT's anomaly detection, one call per level.

        TimeGPT does not fit a series' first context window: those points get NaN,
        which scoring treats as "no band yet".
        """
        self._check(history)
        started = time.monotonic()
        mean = np.full(len(history), np.nan)
        lo: dict[float, FloatArray] = {}
        hi: dict[float, FloatArray] = {}
        for level in levels:
            left = self.deadline_s - (time.monotonic() - started)
            call = functools.partial(self._detect, history=history, step_ms=step_ms, level=level)
            out = self._call(call, left)
            pos = _positions(history.ts, out)
            mean[pos] = out["TimeGPT"].to_numpy(np.float64)
            lo[level], hi[level] = np.full(len(history), np.nan), np.full(len(history), np.nan)
            lo[level][pos], hi[level][pos] = _bounds(out, level)
        return Forecast(Band(history.ts, mean, lo, hi), "timegpt")

    # ------------------------------------------------------------------ detection

    def detect_online(
        self, history: Series, step_ms: int, h: int, detection_size: int, level: float
    ) -> Scored:
        """Score the last ``detection_size`` points, each against a TimeGPT forecast made
        from the points before it (``detect_anomalies_online``)."""
        from tsad.detect.score import score_against_band

        self._check(history)
        out = self._call(
            lambda c: _quiet(
                c.detect_anomalies_online,
                df=_frame(history),
                h=h,
                detection_size=detection_size,
                freq=freq_alias(step_ms),
                level=_wire_levels([level])[0],
                **self._model_kw(),
            )
        )
        pos = _positions(history.ts, out)
        lo, hi = _bounds(out, level)
        y = history.y[pos]
        mean = out["TimeGPT"].to_numpy(np.float64)
        return score_against_band(history.ts[pos], y, mean, lo, hi, level)

    # ------------------------------------------------------------------ plumbing

    def _model_kw(self) -> dict[str, str]:
        return {"model": self.model} if self.model else {}

    def _detect(self, client: Any, history: Series, step_ms: int, level: float) -> Any:
        return _quiet(
            client.detect_anomalies,
            df=_frame(history),
            freq=freq_alias(step_ms),
            level=_wire_levels([level])[0],
            **self._model_kw(),
        )

    def _check(self, history: Series) -> None:
        if len(history) < self.settings.min_points:
            raise NotEnoughPoints(
                f"need at least {self.settings.min_points} points, got {len(history)}",
                needed=self.settings.min_points,
                got=len(history),
            )

    def _sdk(self) -> Any:
        with self._lock:
            if self._client is None:
                key = self.settings.timegpt_api_key
                if not key:
                    raise UpstreamError("TimeGPT is not configured: set NIXTLA_API_KEY")
                nixtla = import_nixtla()
                logging.getLogger(SDK_LOGGER).addFilter(REDACT)
                budget = max(self.deadline_s, 0.001)
                self._client = nixtla.NixtlaClient(
                    api_key=key,
                    base_url=self.settings.timegpt_base_url,
                    timeout=budget,
                    max_retries=2,
                    retry_interval=min(1.0, budget / 4),
                    max_wait_time=budget,
                )
            return self._client

    def _call(self, fn: Callable[[Any], T], deadline_s: float | None = None) -> T:
        """Run ``fn(sdk_client)`` in a daemon thread; stop waiting at the deadline."""
        budget = self.deadline_s if deadline_s is None else deadline_s
        client = self._sdk()
        future: Future[T] = Future()

        def work() -> None:
            try:
                future.set_result(fn(client))
            except BaseException as exc:  # handed to the waiting caller
                future.set_exception(exc)

        threading.Thread(target=work, name="tsad-timegpt", daemon=True).start()
        try:
            return future.result(timeout=max(budget, 0.0))
        except FutureTimeout:
            raise UpstreamTimeout(
                f"TimeGPT did not answer within {self.deadline_s:g} s (TSAD_TIMEGPT_DEADLINE_S)"
            ) from None
        except TsadError:
            raise
        except Exception as exc:
            raise translate(exc, self.settings) from None


# --------------------------------------------------------------------------- helpers


def _quiet(fn: Callable[..., T], **kwargs: Any) -> T:
    # the SDK's anomaly methods emit FutureWarnings about their 1.0 renames
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return fn(**kwargs)


def _wire_levels(levels: Sequence[float]) -> list[int | float]:
    # the API names interval columns after the number sent: 80, not 80.0
    return [int(lv) if float(lv).is_integer() else float(lv) for lv in levels]


def _frame(history: Series) -> Any:
    import pandas as pd

    return pd.DataFrame(
        {
            "unique_id": "series",
            "ds": pd.to_datetime(history.ts, unit="ms"),
            "y": history.y,
        }
    )


def _column(out: Any, side: str, level: float) -> str:
    for name in (f"TimeGPT-{side}-{level_label(level)}", f"TimeGPT-{side}-{level}"):
        if name in out.columns:
            return name
    raise UpstreamError(f"TimeGPT answered without the {side}-{level_label(level)} interval")


def _bounds(out: Any, level: float) -> tuple[FloatArray, FloatArray]:
    return (
        out[_column(out, "lo", level)].to_numpy(np.float64),
        out[_column(out, "hi", level)].to_numpy(np.float64),
    )


def _band(out: Any, ts: Any, levels: Sequence[float]) -> Band:
    lo: dict[float, FloatArray] = {}
    hi: dict[float, FloatArray] = {}
    for level in levels:
        lo[level], hi[level] = _bounds(out, level)
    return Band(np.asarray(ts, np.int64), out["TimeGPT"].to_numpy(np.float64), lo, hi)


def _positions(ts: Any, out: Any) -> Any:
    """Where each answered row's timestamp sits in the history."""
    import pandas as pd

    answered = pd.to_datetime(out["ds"]).to_numpy("datetime64[ms]").astype(np.int64)
    pos = np.searchsorted(ts, answered)
    if np.any(pos >= ts.shape[0]) or np.any(ts[np.minimum(pos, ts.shape[0] - 1)] != answered):
        raise UpstreamError("TimeGPT answered timestamps that are not in the series")
    return pos
