"""One thread owns the embedded store's SQLite connection; every read and write
runs there, so the event loop never waits on the disk.

Group commit: the thread takes every operation queued while it was busy and runs
them in one transaction, so under load one commit (one WAL append) acknowledges
many requests. An operation's future resolves only after its transaction has
committed: with WAL and ``synchronous=NORMAL`` the data is then in the operating
system's page cache and survives the process being killed (``kill -9``), not a
power loss; ``synchronous=FULL`` also fsyncs the WAL at every commit.

A failed transaction fails every operation in it. Writes already queued behind
it were derived from the in-memory view that the failed ones had changed, so the
writer bumps its generation and refuses them (they carry the generation they
were made in), then rebuilds the view from the database (``reload``) and hands
it to the event loop (``install``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from tsad.errors import BufferUnavailable

log = logging.getLogger("tsad.buffer.embedded")

MAX_GROUP = 1_000  # operations per transaction
_STALE = object()


class _Op:
    __slots__ = ("fn", "fut", "gen", "loop", "write")

    def __init__(
        self,
        fn: Callable[[sqlite3.Connection], Any],
        write: bool,
        gen: int,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.fn, self.write, self.gen, self.loop = fn, write, gen, loop
        self.fut: asyncio.Future[Any] = loop.create_future()


def _settle(ops: list[_Op], results: list[Any], failed: BaseException | None) -> None:
    for i, op in enumerate(ops):
        if op.fut.done():  # the caller went away (cancelled)
            continue
        if failed is not None:
            exc = BufferUnavailable(f"the embedded store could not write: {failed}")
            op.fut.set_exception(exc)
        elif results[i] is _STALE:
            op.fut.set_exception(
                BufferUnavailable("the embedded store is recovering from a failed write")
            )
        else:
            op.fut.set_result(results[i])


class SqliteWriter:
    """The dedicated SQLite thread with its operation queue."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        reload: Callable[[sqlite3.Connection], Any],
        install: Callable[[Any], None],
    ) -> None:
        self._conn = conn
        self._reload = reload
        self._install = install
        self._queue: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self.gen = 0  # bumped by the thread when a write failed
        self.broken = False  # set before the bump; cleared by ``recovered``
        self._thread = threading.Thread(target=self._run, name="tsad-sqlite", daemon=True)
        self._thread.start()

    def submit(
        self, fn: Callable[[sqlite3.Connection], Any], *, write: bool, gen: int
    ) -> asyncio.Future[Any]:
        """Queue ``fn(conn)``; the future resolves once its transaction committed."""
        if not self._thread.is_alive():
            raise BufferUnavailable("the embedded store is closed")
        op = _Op(fn, write, gen, asyncio.get_running_loop())
        self._queue.put(op)
        return op.fut

    async def close(self) -> None:
        """Finish what is queued, then close the connection (WAL checkpointed)."""
        if self._thread.is_alive():
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)

    def recovered(self) -> None:
        self.broken = False

    def _run(self) -> None:
        try:
            stop = False
            while not stop:
                first = self._queue.get()
                if first is None:
                    break
                ops = [first]
                while len(ops) < MAX_GROUP:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        stop = True
                        break
                    ops.append(nxt)
                self._group(ops)
        finally:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()

    def _group(self, ops: list[_Op]) -> None:
        conn = self._conn
        results: list[Any] = []
        failed: BaseException | None = None
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op in ops:
                results.append(_STALE if op.write and op.gen != self.gen else op.fn(conn))
            conn.execute("COMMIT")
        except Exception as exc:  # disk full, I/O error, a bug: nothing of the group stays
            failed = exc
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        by_loop: dict[asyncio.AbstractEventLoop, list[int]] = {}
        for i, op in enumerate(ops):
            by_loop.setdefault(op.loop, []).append(i)
        if failed is not None and any(op.write for op in ops):
            log.error("embedded store: a write failed (%s); reloading from disk", failed)
            self.broken = True
            self.gen += 1
            self._recover(ops[0].loop)
        for loop, idx in by_loop.items():
            group = [ops[i] for i in idx]
            res = [results[i] for i in idx] if failed is None else []
            with contextlib.suppress(RuntimeError):  # that loop is closed
                loop.call_soon_threadsafe(_settle, group, res, failed)

    def _recover(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            view = self._reload(self._conn)
        except Exception:
            log.exception("embedded store: reloading failed; writes stay refused")
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._install, view)
