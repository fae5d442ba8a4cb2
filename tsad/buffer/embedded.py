"""The embedded durable store, the default of ``tsad serve``: SQLite (WAL) in
``TSAD_DATA_DIR``, nothing to install, and every acknowledged write on disk.

Reads are served from an in-memory view (a ``MemoryBuffer``: the hot path's
``get_state`` and the refits' windows cost what they cost before); every change
is applied to the view and queued to the SQLite thread (``SqliteWriter``), and the
call returns once its group commit is durable. On start-up the view is rebuilt
from the database, so a crash needs no manual step.

Points are stored as compact blobs (``tsad.buffer.chunks``): a batch that extends
a series in time is written as chunks of its own; small or out-of-order batches go
to a per-series head log, which is folded into chunks (rewriting only the chunks it
overlaps: for in-order data none) once it holds ``HEAD_MAX`` points. Retention
moves the series' floor and drops whole chunks below it.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from tsad.buffer.chunks import encode
from tsad.buffer.codec import decode_dict, encoder
from tsad.buffer.embedded_disk import DiskSeries, View, connect, data_dir, load, lock_dir
from tsad.buffer.memory import MAX_ANOMALIES, copy_flat
from tsad.buffer.sqlite_writer import SqliteWriter
from tsad.errors import BufferUnavailable
from tsad.series import FloatArray, IntArray, Series, clean
from tsad.settings import BufferSettings
from tsad.state import SeriesState
from tsad.types import AppendResult, SeriesInfo

log = logging.getLogger("tsad.buffer.embedded")

CHUNK = 4_096  # most points per chunk row
DIRECT_MIN = 64  # an in-order batch this large becomes chunks at once
HEAD_MAX = 512  # head points of a series that trigger folding them into chunks


@dataclass
class _AppendRows:
    """The rows one append writes (built on the event loop, written by the thread)."""

    no: int
    name: str | None = None  # set for a new series
    fold_from: int | None = None  # delete chunks from here and the head (a fold)
    chunks: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    head: tuple[int, np.ndarray, np.ndarray] | None = None
    floor: int | None = None


def _write_append(rows: _AppendRows, conn: sqlite3.Connection) -> None:
    if rows.name is not None:
        conn.execute("INSERT INTO series (no, name) VALUES (?, ?)", (rows.no, rows.name))
    if rows.fold_from is not None:
        conn.execute("DELETE FROM chunks WHERE no = ? AND first >= ?", (rows.no, rows.fold_from))
        conn.execute("DELETE FROM head WHERE no = ?", (rows.no,))
    if rows.chunks:
        conn.executemany(
            "INSERT INTO chunks (no, first, last, data) VALUES (?, ?, ?, ?)",
            [(rows.no, int(t[0]), int(t[-1]), encode(t, v)) for t, v in rows.chunks],
        )
    if rows.head is not None:
        seq, t, v = rows.head
        conn.execute(
            "INSERT INTO head (no, seq, data) VALUES (?, ?, ?)", (rows.no, seq, encode(t, v))
        )
    if rows.floor is not None:
        conn.execute("UPDATE series SET floor = ? WHERE no = ?", (rows.floor, rows.no))
        conn.execute("DELETE FROM chunks WHERE no = ? AND last < ?", (rows.no, rows.floor))


def _new_series(conn: sqlite3.Connection, no: int, name: str | None) -> None:
    if name is not None:
        conn.execute("INSERT INTO series (no, name) VALUES (?, ?)", (no, name))


def _write_state(no: int, name: str | None, raw: bytes, conn: sqlite3.Connection) -> None:
    _new_series(conn, no, name)
    conn.execute("INSERT OR REPLACE INTO states (no, data) VALUES (?, ?)", (no, raw))


def _write_scorer(no: int, name: str | None, raw: bytes, conn: sqlite3.Connection) -> None:
    _new_series(conn, no, name)
    conn.execute("INSERT OR REPLACE INTO scorers (no, data) VALUES (?, ?)", (no, raw))


def _write_anomalies(
    no: int, name: str | None, rows: list[tuple[int, int, bytes]], trim: bool, conn: Any
) -> None:
    _new_series(conn, no, name)
    conn.executemany("INSERT OR REPLACE INTO anomalies (no, ts, record) VALUES (?, ?, ?)", rows)
    if trim:
        conn.execute(
            "DELETE FROM anomalies WHERE no = ? AND ts < (SELECT ts FROM anomalies WHERE no = ?"
            " ORDER BY ts DESC LIMIT 1 OFFSET ?)",
            (no, no, MAX_ANOMALIES - 1),
        )


def _write_feedback(no: int, name: str | None, raw: bytes | None, conn: sqlite3.Connection) -> None:
    _new_series(conn, no, name)
    if raw is None:
        conn.execute("DELETE FROM feedback WHERE no = ?", (no,))
    else:
        conn.execute("INSERT OR REPLACE INTO feedback (no, data) VALUES (?, ?)", (no, raw))


def _write_group(name: str, raw: bytes | None, conn: sqlite3.Connection) -> None:
    if raw is None:
        conn.execute("DELETE FROM groups WHERE name = ?", (name,))
    else:
        conn.execute("INSERT OR REPLACE INTO groups (name, data) VALUES (?, ?)", (name, raw))


def _read_anomalies(no: int, start: int, end: int, conn: sqlite3.Connection) -> list[bytes]:
    return [
        r
        for (r,) in conn.execute(
            "SELECT record FROM anomalies WHERE no = ? AND ts BETWEEN ? AND ? ORDER BY ts",
            (no, start, end),
        )
    ]


def _delete(no: int, conn: sqlite3.Connection) -> None:
    for table in ("chunks", "head", "anomalies", "states", "scorers", "feedback", "series"):
        conn.execute(f"DELETE FROM {table} WHERE no = ?", (no,))


def _split(ts: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(ts[a : a + CHUNK], y[a : a + CHUNK]) for a in range(0, ts.shape[0], CHUNK)]


def _consume_outcome(fut: asyncio.Future[Any]) -> None:
    """Retrieve an unawaited write's outcome; a failure already made the writer reload."""
    if not fut.cancelled() and fut.exception() is not None:
        log.warning("a scorer write failed: %s", fut.exception())


class EmbeddedBuffer:
    """``Buffer`` on SQLite in one data dir, owned by this process (a lock file)."""

    def __init__(self, settings: BufferSettings, conn: sqlite3.Connection, lock_fd: int) -> None:
        self.settings = settings
        self._lock_fd = lock_fd
        self._install(load(conn, settings))
        self._writer = SqliteWriter(conn, partial(load, settings=settings), self._install)

    @classmethod
    def open(cls, settings: BufferSettings) -> EmbeddedBuffer:
        """Lock the data dir, open (and so recover) the database, load the view."""
        path = data_dir(settings)
        fd = lock_dir(path)
        try:
            return cls(settings, connect(path, settings.data_sync), fd)
        except BaseException:
            os.close(fd)
            raise

    def _install(self, view: View) -> None:
        self._mem = view.mem
        self._disks = view.disks
        self._next_no = view.next_no
        self._seq = view.next_seq
        if hasattr(self, "_writer"):
            self._writer.recovered()

    def _generation(self) -> int:
        gen = self._writer.gen  # read before the flag: see SqliteWriter
        if self._writer.broken:
            raise BufferUnavailable("the embedded store is recovering from a failed write")
        return gen

    def _disk(self, series_id: str) -> tuple[DiskSeries, str | None]:
        """The series' disk record, and its name when it has no row yet."""
        disk = self._disks.get(series_id)
        if disk is not None:
            return disk, None
        disk = self._disks[series_id] = DiskSeries(no=self._next_no)
        self._next_no += 1
        return disk, series_id

    async def append(self, series_id: str, ts: IntArray, y: FloatArray) -> AppendResult:
        if ts.shape[0] == 0:
            return AppendResult(0, 0)
        gen = self._generation()
        cleaned = clean(np.asarray(ts, np.int64), np.asarray(y, np.float64))
        before = self._mem.store(series_id)
        last = int(before.ts[before.stop - 1]) if before is not None and len(before) else None
        result = self._mem.apply(series_id, cleaned, int(ts.shape[0]))
        store = self._mem.store(series_id)
        assert store is not None
        cur_ts, cur_y = store.view()
        disk, name = self._disk(series_id)
        rows = _AppendRows(no=disk.no, name=name)
        floor = int(cur_ts[0])
        new_ts, new_y = cleaned.series.ts, cleaned.series.y
        # bisect, not np.searchsorted: numpy releases the GIL there, and handing it to
        # the writer thread mid-request costs far more than the search
        keep = bisect.bisect_left(new_ts.tolist(), floor) if new_ts[0] < floor else 0
        new_ts, new_y = new_ts[keep:], new_y[keep:]
        if new_ts.shape[0] >= DIRECT_MIN and (last is None or new_ts[0] > last):
            self._add_chunks(disk, rows, new_ts, new_y)
        elif new_ts.shape[0]:
            low = int(new_ts[0])
            disk.head_min = low if disk.head_min is None else min(disk.head_min, low)
            disk.head_n += int(new_ts.shape[0])
            if disk.head_n >= HEAD_MAX:
                self._fold(disk, rows, cur_ts, cur_y)
            else:
                rows.head = (self._seq, new_ts, new_y)
                self._seq += 1
        if disk.floor != floor:
            rows.floor = disk.floor = floor
            cut = bisect.bisect_left(disk.lasts, floor)
            del disk.firsts[:cut], disk.lasts[:cut]
        await self._writer.submit(partial(_write_append, rows), write=True, gen=gen)
        return result

    @staticmethod
    def _add_chunks(disk: DiskSeries, rows: _AppendRows, ts: np.ndarray, y: np.ndarray) -> None:
        for t, v in _split(ts, y):
            rows.chunks.append((t, v))
            disk.firsts.append(int(t[0]))
            disk.lasts.append(int(t[-1]))

    def _fold(
        self, disk: DiskSeries, rows: _AppendRows, cur_ts: np.ndarray, cur_y: np.ndarray
    ) -> None:
        """Rewrite the head, and the chunks it overlaps, as chunks from the view."""
        assert disk.head_min is not None
        i = bisect.bisect_left(disk.lasts, disk.head_min)
        lo = disk.head_min if i == len(disk.firsts) else min(disk.head_min, disk.firsts[i])
        del disk.firsts[i:], disk.lasts[i:]
        k = int(np.searchsorted(cur_ts, lo))
        rows.fold_from = lo
        self._add_chunks(disk, rows, cur_ts[k:].copy(), cur_y[k:].copy())
        disk.head_n, disk.head_min = 0, None

    async def window(
        self,
        series_id: str,
        start: int | None = None,
        end: int | None = None,
        limit: int | None = None,
    ) -> Series:
        return await self._mem.window(series_id, start, end, limit)

    async def info(self, series_id: str) -> SeriesInfo | None:
        return await self._mem.info(series_id)

    async def list_series(self) -> list[SeriesInfo]:
        return await self._mem.list_series()

    async def delete(self, series_id: str) -> bool:
        gen = self._generation()
        existed = await self._mem.delete(series_id)
        disk = self._disks.pop(series_id, None)
        if disk is not None:
            await self._writer.submit(partial(_delete, disk.no), write=True, gen=gen)
        return existed

    async def get_state(self, series_id: str) -> SeriesState | None:
        return await self._mem.get_state(series_id)

    async def put_state(self, series_id: str, state: SeriesState) -> None:
        gen = self._generation()
        raw = encoder.encode(state)
        self._mem.adopt_state(series_id, state)  # frozen: what a restart decodes equals it
        disk, name = self._disk(series_id)
        await self._writer.submit(partial(_write_state, disk.no, name, raw), write=True, gen=gen)

    async def get_scorer(self, series_id: str) -> dict[str, Any] | None:
        return await self._mem.get_scorer(series_id)

    async def put_scorer(self, series_id: str, scorer: dict[str, Any]) -> None:
        gen = self._generation()
        raw = encoder.encode(scorer)
        self._mem.adopt_scorer(series_id, copy_flat(scorer))  # as flat as what a restart reads
        disk, name = self._disk(series_id)
        # not awaited: the scorer is derived state (a lost one is primed again from the
        # history at the next refit), so the hot path does not wait a second commit for
        # it; it joins the same ordered queue, so it lands with the next group
        fut = self._writer.submit(partial(_write_scorer, disk.no, name, raw), write=True, gen=gen)
        fut.add_done_callback(_consume_outcome)

    async def add_anomalies(self, series_id: str, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        gen = self._generation()
        disk, name = self._disk(series_id)
        rows = [(disk.no, int(r["ts"]), encoder.encode(r)) for r in records]
        disk.anomalies += len(rows)
        trim = disk.anomalies > MAX_ANOMALIES
        if trim:
            disk.anomalies = MAX_ANOMALIES
        write = partial(_write_anomalies, disk.no, name, rows, trim)
        await self._writer.submit(write, write=True, gen=gen)

    async def anomalies(
        self, series_id: str, start: int | None = None, end: int | None = None
    ) -> list[dict[str, Any]]:
        disk = self._disks.get(series_id)
        if disk is None:
            return []
        lo = -(2**63) if start is None else int(start)
        hi = 2**63 - 1 if end is None else int(end)
        read = partial(_read_anomalies, disk.no, lo, hi)
        raw: list[bytes] = await self._writer.submit(read, write=False, gen=0)
        return [decode_dict(r) for r in raw]

    # ----------------------------------------------------------------- feedback

    async def get_feedback(self, series_id: str) -> list[dict[str, Any]]:
        return await self._mem.get_feedback(series_id)

    async def put_feedback(self, series_id: str, records: Sequence[dict[str, Any]]) -> None:
        gen = self._generation()
        raw = encoder.encode(list(records)) if records else None
        await self._mem.put_feedback(series_id, records)
        disk, name = self._disk(series_id)
        write = partial(_write_feedback, disk.no, name, raw)
        await self._writer.submit(write, write=True, gen=gen)

    # ------------------------------------------------------------------- groups

    async def get_groups(self) -> dict[str, dict[str, Any]]:
        return await self._mem.get_groups()

    async def put_group(self, name: str, doc: dict[str, Any] | None) -> None:
        gen = self._generation()
        raw = encoder.encode(doc) if doc is not None else None
        await self._mem.put_group(name, doc)
        await self._writer.submit(partial(_write_group, name, raw), write=True, gen=gen)

    async def ping(self) -> bool:
        if self._writer.broken:
            return False
        try:
            await self._writer.submit(lambda conn: conn.execute("SELECT 1"), write=False, gen=0)
        except BufferUnavailable:
            return False
        return True

    async def close(self) -> None:
        await self._writer.close()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
