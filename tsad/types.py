"""The seams of tsad: one Protocol per seam.

* ``Buffer`` — where points and per-series state live (memory or Redis).
* ``Forecaster`` — a model that turns a history into a band.
* ``RefitQueue`` — how the hot path asks for refit work without waiting for it,
  and how that work is consumed (in this process or by ``tsad worker``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from tsad.series import FloatArray, Forecast, IntArray, Series
from tsad.state import SeriesMeta, SeriesState


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
    meta: SeriesMeta = field(default_factory=SeriesMeta)


@runtime_checkable
class Buffer(Protocol):
    """Points and per-series state. Every method is async (Redis is remote).

    ``append`` dedupes by timestamp (last write wins), keeps at most the configured
    number of points per series (dropping the oldest) and is all-or-nothing.
    ``state`` is an opaque JSON-able dict per series (stored band, model metadata),
    replaced whole by ``put_state`` (a frozen ``tsad.state.SeriesState`` record);
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

    async def get_state(self, series_id: str) -> SeriesState | None: ...

    async def put_state(self, series_id: str, state: SeriesState) -> None: ...

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

    # operator feedback (tsad.feedback): a small bounded list of records per series,
    # replaced whole; deleted with the series
    async def get_feedback(self, series_id: str) -> list[dict[str, Any]]: ...

    async def put_feedback(self, series_id: str, records: Sequence[dict[str, Any]]) -> None: ...

    # groups of series (tsad.multivariate): one JSON document per group name (its
    # definition and fitted model), apart from the series; ``None`` deletes it
    async def get_groups(self) -> dict[str, dict[str, Any]]: ...

    async def put_group(self, name: str, doc: dict[str, Any] | None) -> None: ...


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


@dataclass(frozen=True)
class GlobalFitJob:
    """Refit work that retrains the global ``kind`` model at ``step_ms`` on the stored
    series fitted with it (``tsad.global_fit``) — minutes, not milliseconds."""

    kind: str
    step_ms: int


RefitJob = str | GlobalFitJob
"""One piece of refit work: a series id (refit that series' band) or a global fit."""

RunJob = Callable[[RefitJob], Awaitable[object]]
"""What does the work (``TsadService.run``)."""

Entry = tuple[str, RefitJob]
"""A claimed piece of work: (entry id, job)."""


@runtime_checkable
class RefitQueue(Protocol):
    """The one seam for refit work. Producers ``schedule`` (it only queues; it never
    fits). ``start(run)`` consumes the queue in this process (the worker loop of
    ``tsad.queue.consumer`` as a task), ``stop`` ends that; ``tsad worker`` runs the
    same loop as a process of its own: ``claim``, ``touch`` while working, then ``ack``.

    A job is queued or in progress at most once. An entry claimed but not acked (its
    worker died) becomes claimable again through ``reclaim`` once idle for
    ``min_idle_ms``; ``touch`` resets that idle time so a slow but living worker keeps it.
    """

    async def schedule(self, job: RefitJob) -> bool:
        """Queue ``job``; False if it is already queued or running."""
        ...

    async def pending(self) -> int:
        """How many jobs wait or run (status page, tests)."""
        ...

    async def start(self, run: RunJob) -> None:
        """Consume the queue in this process with ``run``, until ``stop``."""
        ...

    async def stop(self) -> None: ...

    async def claim(self, consumer: str, count: int = 1, block_ms: int = 1_000) -> list[Entry]:
        """Up to ``count`` new entries for ``consumer``, waiting at most ``block_ms``."""
        ...

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int = 10) -> list[Entry]:
        """Take over entries other consumers left idle for ``min_idle_ms`` or more."""
        ...

    async def touch(self, consumer: str, entry_id: str) -> None:
        """Heartbeat: the entry is still being worked on by ``consumer``."""
        ...

    async def ack(self, entry_id: str, job: RefitJob) -> None:
        """The job is done (or given up): forget the entry, let the job queue again."""
        ...

    async def close(self) -> None: ...
