"""The seams of tsad: one Protocol per seam.

* ``Buffer`` — where points and per-series state live (memory or Redis).
* ``Forecaster`` — a model that turns a history into a band.
* ``RefitScheduler`` — how the hot path asks for a refit without waiting for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from tsad.series import FloatArray, Forecast, IntArray, Series


@dataclass(frozen=True)
class AppendResult:
    """What an append did: how many points were new, how many replaced a stored one."""

    accepted: int
    duplicates: int


@dataclass(frozen=True)
class SeriesInfo:
    """What the buffer knows about one series."""

    series_id: str
    count: int
    first: int | None
    last: int | None
    meta: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Buffer(Protocol):
    """Points and per-series state. Every method is async (Redis is remote).

    ``append`` dedupes by timestamp (last write wins), keeps at most the configured
    number of points per series (dropping the oldest) and is all-or-nothing.
    ``state`` is an opaque JSON-able dict per series (stored band, model metadata),
    replaced whole by ``put_state``; callers treat what ``get_state`` returns as read-only;
    ``anomalies`` is the per-series history of flagged points.
    """

    async def append(self, series_id: str, ts: IntArray, y: FloatArray) -> AppendResult: ...

    async def window(
        self,
        series_id: str,
        start: int | None = None,
        end: int | None = None,
        limit: int | None = None,
    ) -> Series: ...

    async def info(self, series_id: str) -> SeriesInfo | None: ...

    async def list_series(self) -> list[SeriesInfo]: ...

    async def delete(self, series_id: str) -> bool: ...

    async def get_state(self, series_id: str) -> dict[str, Any] | None: ...

    async def put_state(self, series_id: str, state: dict[str, Any]) -> None: ...

    async def get_scorer(self, series_id: str) -> dict[str, Any] | None:
        """The series' anomaly scorer state (small, rewritten on every scored append,
        so it is kept apart from ``state``, which holds the large stored band)."""
        ...

    async def put_scorer(self, series_id: str, scorer: dict[str, Any]) -> None:
        """Store the scorer state. A store may return before it is durable: the
        state is derived, and a lost one is primed again from the history."""
        ...

    async def add_anomalies(self, series_id: str, records: Sequence[dict[str, Any]]) -> None: ...

    async def anomalies(
        self, series_id: str, start: int | None = None, end: int | None = None
    ) -> list[dict[str, Any]]: ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


@runtime_checkable
class Forecaster(Protocol):
    """A forecasting model. ``forecast`` predicts ``h`` steps after ``history``;
    ``insample`` gives a band for the history's own points (for batch detection).

    ``history`` is regular (gaps filled) with step ``step_ms``. Bands carry the
    requested ``levels``. A forecaster may fall back to a simpler model for a short
    history and says so in ``Forecast.model_used``.
    """

    name: str

    def forecast(
        self, history: Series, step_ms: int, h: int, levels: Sequence[float]
    ) -> Forecast: ...

    def insample(self, history: Series, step_ms: int, levels: Sequence[float]) -> Forecast: ...

    def min_points(self, step_ms: int) -> int: ...


class RefitScheduler(Protocol):
    """Asks for a series' band to be refreshed, off the request path: ``schedule``
    only queues (True if queued, False if one is already pending); it never fits."""

    async def schedule(self, series_id: str) -> bool: ...
