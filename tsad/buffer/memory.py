"""The embedded default buffer: per-series numpy arrays in this process.

Appends at the end of a series (the common case for monitoring data) are
amortised O(1) per point: each series keeps spare capacity and only copies when
it grows or compacts. Out-of-order batches fall back to a merge.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from tsad.errors import TooLarge
from tsad.series import Cleaned, FloatArray, IntArray, Series, clean
from tsad.settings import BufferSettings
from tsad.state import EMPTY, SeriesState
from tsad.types import AppendResult, SeriesInfo

MAX_ANOMALIES = 10_000


class _Store:
    """One series: ``ts``/``y`` live in ``[start, stop)`` of over-allocated arrays."""

    __slots__ = ("start", "stop", "ts", "y")

    def __init__(self) -> None:
        self.ts = np.empty(64, np.int64)
        self.y = np.empty(64, np.float64)
        self.start = 0
        self.stop = 0

    def view(self) -> tuple[IntArray, FloatArray]:
        return self.ts[self.start : self.stop], self.y[self.start : self.stop]

    def __len__(self) -> int:
        return self.stop - self.start

    def _reserve(self, extra: int) -> None:
        n = len(self)
        if self.stop + extra <= self.ts.shape[0]:
            return
        cap = max(64, 2 * (n + extra))
        ts = np.empty(cap, np.int64)
        y = np.empty(cap, np.float64)
        ts[:n], y[:n] = self.view()
        self.ts, self.y, self.start, self.stop = ts, y, 0, n

    def replace(self, ts: IntArray, y: FloatArray) -> None:
        self.ts = np.empty(max(64, 2 * ts.shape[0]), np.int64)
        self.y = np.empty(self.ts.shape[0], np.float64)
        self.ts[: ts.shape[0]] = ts
        self.y[: ts.shape[0]] = y
        self.start, self.stop = 0, ts.shape[0]

    def push(self, ts: IntArray, y: FloatArray) -> None:
        self._reserve(ts.shape[0])
        k = ts.shape[0]
        self.ts[self.stop : self.stop + k] = ts
        self.y[self.stop : self.stop + k] = y
        self.stop += k

    def trim(self, max_points: int, min_ts: int | None) -> None:
        if min_ts is not None and len(self):
            cut = int(np.searchsorted(self.ts[self.start : self.stop], min_ts, side="left"))
            self.start += cut
        if len(self) > max_points:
            self.start = self.stop - max_points


class MemoryBuffer:
    """In-process ``Buffer``: bounded per series, dedupe by timestamp, last write wins."""

    def __init__(self, settings: BufferSettings | None = None) -> None:
        self.settings = settings or BufferSettings()
        self._series: dict[str, _Store] = {}
        self._scorers: dict[str, dict[str, Any]] = {}
        self._state: dict[str, SeriesState] = {}
        self._anomalies: dict[str, deque[dict[str, Any]]] = {}
        self._feedback: dict[str, list[dict[str, Any]]] = {}
        self._groups: dict[str, dict[str, Any]] = {}

    async def append(self, series_id: str, ts: IntArray, y: FloatArray) -> AppendResult:
        if ts.shape[0] == 0:
            return AppendResult(0, 0)
        return self.apply(series_id, clean(ts, y), int(ts.shape[0]))

    def store(self, series_id: str) -> _Store | None:
        """The live arrays of a series (read-only for callers), or None."""
        return self._series.get(series_id)

    def apply(
        self, series_id: str, cleaned: Cleaned, sent: int, *, check_max: bool = True
    ) -> AppendResult:
        """Append a cleaned (sorted, de-duplicated) batch of ``sent`` points, synchronously.

        Raises TooLarge before changing anything when a new series would pass max_series."""
        store = self._series.get(series_id)
        if check_max and store is None and len(self._series) >= self.settings.max_series:
            raise TooLarge(
                f"the buffer holds its maximum of {self.settings.max_series} series; "
                "delete some or raise TSAD_MAX_SERIES"
            )
        new_ts, new_y = cleaned.series.ts, cleaned.series.y
        if store is None:
            store = _Store()
            store.push(new_ts, new_y)
            stored_dupes = 0
        else:
            old_ts, old_y = store.view()
            if len(store) == 0 or new_ts[0] > old_ts[-1]:
                store.push(new_ts, new_y)
                stored_dupes = 0
            else:
                stored_dupes = _merge_into(store, old_ts, old_y, new_ts, new_y)
        self._series[series_id] = store
        min_ts = None
        if self.settings.max_age_s:
            min_ts = int(store.ts[store.stop - 1]) - self.settings.max_age_s * 1000
        store.trim(self.settings.max_points_per_series, min_ts)
        dupes = cleaned.duplicates + stored_dupes
        return AppendResult(accepted=sent - dupes, duplicates=dupes)

    def adopt_state(self, series_id: str, state: SeriesState) -> None:
        """Keep ``state`` as it is (the caller hands it over: no copy)."""
        self._state[series_id] = state

    async def window(
        self,
        series_id: str,
        start: int | None = None,
        end: int | None = None,
        limit: int | None = None,
    ) -> Series:
        store = self._series.get(series_id)
        if store is None:
            return Series(np.empty(0, np.int64), np.empty(0, np.float64))
        ts, y = store.view()
        lo = 0 if start is None else int(np.searchsorted(ts, start, side="left"))
        hi = ts.shape[0] if end is None else int(np.searchsorted(ts, end, side="right"))
        if limit is not None and hi - lo > limit:
            lo = hi - limit
        return Series(ts[lo:hi].copy(), y[lo:hi].copy())

    async def info(self, series_id: str) -> SeriesInfo | None:
        store = self._series.get(series_id)
        if store is None:
            return None
        ts, _ = store.view()
        state = self._state.get(series_id, EMPTY)
        return SeriesInfo(
            series_id=series_id,
            count=int(ts.shape[0]),
            first=int(ts[0]) if ts.shape[0] else None,
            last=int(ts[-1]) if ts.shape[0] else None,
            meta=state.meta,
        )

    async def list_series(self) -> list[SeriesInfo]:
        out = []
        for sid in sorted(self._series):
            info = await self.info(sid)
            if info is not None:
                out.append(info)
        return out

    async def delete(self, series_id: str) -> bool:
        existed = self._series.pop(series_id, None) is not None
        self._state.pop(series_id, None)
        self._scorers.pop(series_id, None)
        self._anomalies.pop(series_id, None)
        self._feedback.pop(series_id, None)
        return existed

    async def get_state(self, series_id: str) -> SeriesState | None:
        # records are frozen: handing out the stored one is safe
        return self._state.get(series_id)

    async def put_state(self, series_id: str, state: SeriesState) -> None:
        self._state[series_id] = state

    async def get_scorer(self, series_id: str) -> dict[str, Any] | None:
        scorer = self._scorers.get(series_id)
        return copy_flat(scorer) if scorer is not None else None

    async def put_scorer(self, series_id: str, scorer: dict[str, Any]) -> None:
        self._scorers[series_id] = copy_flat(scorer)

    def adopt_scorer(self, series_id: str, scorer: dict[str, Any]) -> None:
        """Keep ``scorer`` as it is (the caller hands it over: no copy)."""
        self._scorers[series_id] = scorer

    async def add_anomalies(self, series_id: str, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        log = self._anomalies.setdefault(series_id, deque(maxlen=MAX_ANOMALIES))
        known = {r["ts"] for r in log}
        for record in records:
            if record["ts"] in known:
                # a re-sent point re-scored: keep the newest verdict only
                for i, old in enumerate(log):
                    if old["ts"] == record["ts"]:
                        log[i] = dict(record)
                continue
            log.append(dict(record))

    async def anomalies(
        self, series_id: str, start: int | None = None, end: int | None = None
    ) -> list[dict[str, Any]]:
        log = self._anomalies.get(series_id, ())
        return sorted(
            (
                dict(r)
                for r in log
                if (start is None or r["ts"] >= start) and (end is None or r["ts"] <= end)
            ),
            key=lambda r: int(r["ts"]),
        )

    # ----------------------------------------------------------------- feedback

    async def get_feedback(self, series_id: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self._feedback.get(series_id, []))

    async def put_feedback(self, series_id: str, records: Sequence[dict[str, Any]]) -> None:
        if records:
            self._feedback[series_id] = copy.deepcopy(list(records))
        else:
            self._feedback.pop(series_id, None)

    def adopt_feedback(self, series_id: str, records: list[dict[str, Any]]) -> None:
        """Keep ``records`` as they are (the caller hands them over: no copy)."""
        self._feedback[series_id] = records

    # ------------------------------------------------------------------- groups

    async def get_groups(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self._groups)

    async def put_group(self, name: str, doc: dict[str, Any] | None) -> None:
        if doc is None:
            self._groups.pop(name, None)
        else:
            self._groups[name] = copy.deepcopy(doc)

    def adopt_group(self, name: str, doc: dict[str, Any]) -> None:
        """Keep ``doc`` as it is (the caller hands it over: no copy)."""
        self._groups[name] = doc

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None


def copy_flat(scorer: dict[str, Any]) -> dict[str, Any]:
    """A scorer state is flat (numbers and lists of numbers): copy just that deep
    (``copy.deepcopy`` is most of an append's cost on this path)."""
    return {k: list(v) if isinstance(v, list) else v for k, v in scorer.items()}


def _merge_into(
    store: _Store, old_ts: IntArray, old_y: FloatArray, new_ts: IntArray, new_y: FloatArray
) -> int:
    """Merge a sorted, de-duplicated batch into the store; new values win. Returns dupes."""
    all_ts = np.concatenate([old_ts, new_ts])
    all_y = np.concatenate([old_y, new_y])
    order = np.argsort(all_ts, kind="stable")  # old before new on equal timestamps
    all_ts, all_y = all_ts[order], all_y[order]
    keep = np.ones(all_ts.shape[0], bool)
    keep[:-1] = all_ts[1:] != all_ts[:-1]  # keep the last of each run: the new value
    dupes = int(all_ts.shape[0] - keep.sum())
    store.replace(all_ts[keep], all_y[keep])
    return dupes
