"""The embedded store's files: where they live, their schema, the data-dir lock,
and rebuilding the in-memory view from them at start-up (crash recovery is
SQLite's own: opening a database replays or discards its WAL).

Tables (``no`` is a small integer per series, so rows do not repeat its name)::

    series    (no, name, floor)              floor: oldest timestamp still kept
    states    (no, data JSON)                apart, so moving the floor never rewrites it
    scorers   (no, data JSON)                the anomaly scorer: small, rewritten per append
    chunks    (no, first, last, data)        non-overlapping sorted runs (tsad.buffer.chunks)
    head      (no, seq, data)                small or out-of-order batches since the last
                                             compaction, replayed over the chunks in seq order
    anomalies (no, ts, record JSON)
    feedback  (no, data JSON)                operator feedback records (tsad.feedback)
    groups    (name, data JSON)              groups of series (tsad.multivariate), apart
                                             from the series
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np

from tsad.buffer.chunks import decode
from tsad.buffer.codec import decode_dict
from tsad.buffer.memory import MemoryBuffer
from tsad.errors import ConfigError
from tsad.series import clean
from tsad.settings import BufferSettings
from tsad.state import decode_state

SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
  no INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, floor INTEGER);
CREATE TABLE IF NOT EXISTS states (no INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS scorers (no INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (no INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS groups (name TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
  no INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, data BLOB NOT NULL,
  PRIMARY KEY (no, first));
CREATE TABLE IF NOT EXISTS head (
  no INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,
  PRIMARY KEY (no, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS anomalies (
  no INTEGER NOT NULL, ts INTEGER NOT NULL, record BLOB NOT NULL,
  PRIMARY KEY (no, ts)) WITHOUT ROWID;
"""


@dataclass
class DiskSeries:
    """What the store knows of one series' rows, kept in memory to plan writes."""

    no: int
    firsts: list[int] = field(default_factory=list)  # chunk bounds, sorted
    lasts: list[int] = field(default_factory=list)
    head_n: int = 0  # points in head rows (an upper bound)
    head_min: int | None = None
    floor: int | None = None
    anomalies: int = 0  # anomaly rows (an upper bound)


@dataclass
class View:
    """The in-memory view of a data dir: points and state, and the disk layout."""

    mem: MemoryBuffer
    disks: dict[str, DiskSeries]
    next_no: int
    next_seq: int


def data_dir(settings: BufferSettings) -> Path:
    """TSAD_DATA_DIR, else $XDG_DATA_HOME/tsad, else ~/.local/share/tsad."""
    if settings.data_dir:
        return Path(settings.data_dir).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "tsad"


def lock_dir(path: Path) -> int:
    """Hold an exclusive lock on the data dir for this process's life (released by the
    kernel however the process ends), so two servers never share one store."""
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / "tsad.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise ConfigError(
            f"the data dir {path} is in use by another tsad process (pid {holder}); "
            "set TSAD_DATA_DIR to another directory, or use Redis to share one store"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def connect(path: Path, sync: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path / "tsad.sqlite3", isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
    conn.executescript(SCHEMA)
    return conn


def load(conn: sqlite3.Connection, settings: BufferSettings) -> View:
    """Rebuild the view: chunks, then head batches in order, cut at each series' floor."""
    mem = MemoryBuffer(settings)
    disks: dict[str, DiskSeries] = {}
    names: dict[int, str] = {}
    for no, name, floor in conn.execute("SELECT no, name, floor FROM series"):
        names[no] = name
        disks[name] = DiskSeries(no=no, floor=floor)
    for no, state in conn.execute("SELECT no, data FROM states"):
        mem.adopt_state(names[no], decode_state(state))
    for no, scorer in conn.execute("SELECT no, data FROM scorers"):
        mem.adopt_scorer(names[no], decode_dict(scorer))
    for no, data in conn.execute("SELECT no, data FROM feedback"):
        mem.adopt_feedback(names[no], [dict(r) for r in msgspec.json.decode(data)])
    for name, data in conn.execute("SELECT name, data FROM groups"):
        mem.adopt_group(name, decode_dict(data))
    runs: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for no, first, last, data in conn.execute(
        "SELECT no, first, last, data FROM chunks ORDER BY no, first"
    ):
        disk = disks[names[no]]
        disk.firsts.append(first)
        disk.lasts.append(last)
        runs.setdefault(no, []).append(decode(data))
    for no, parts in runs.items():
        ts = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        _apply(mem, names[no], disks[names[no]], ts, y, head=False)
    next_seq = 0
    for no, seq, data in conn.execute("SELECT no, seq, data FROM head ORDER BY no, seq"):
        ts, y = decode(data)
        _apply(mem, names[no], disks[names[no]], ts, y, head=True)
        next_seq = max(next_seq, seq + 1)
    for no, count in conn.execute("SELECT no, count(*) FROM anomalies GROUP BY no"):
        disks[names[no]].anomalies = count
    return View(mem, disks, max(names, default=0) + 1, next_seq)


def _apply(
    mem: MemoryBuffer, name: str, disk: DiskSeries, ts: np.ndarray, y: np.ndarray, head: bool
) -> None:
    if disk.floor is not None:
        keep = ts >= disk.floor
        ts, y = ts[keep], y[keep]
    if head:
        disk.head_n += int(ts.shape[0])
        if ts.shape[0]:
            low = int(ts.min())
            disk.head_min = low if disk.head_min is None else min(disk.head_min, low)
    if ts.shape[0]:
        mem.apply(name, clean(ts, y), int(ts.shape[0]), check_max=False)
