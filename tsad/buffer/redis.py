"""The shared buffer: points, per-series state and anomalies in Redis.

Every tsad process pointed at the same ``TSAD_REDIS_URL`` sees the same data.
Semantics match ``MemoryBuffer`` exactly (the contract suite runs against both).

Key layout — all keys of a series share the hash tag ``{<series>}`` so one series
lives on one Cluster slot::

    tsad:{<sid>}:chunks     ZSET  score = last ts of the chunk (ms), member = one chunk of
                                  up to 256 points: >i8 base, then >u4 offset + >f8 value
    tsad:{<sid>}:count      STRING number of stored points
    tsad:{<sid>}:state      STRING msgspec JSON of the SeriesState record
    tsad:{<sid>}:meta       STRING msgspec JSON of its SeriesMeta (cheap for list_series)
    tsad:{<sid>}:anomalies  ZSET  score = ts, member = msgspec JSON record
    tsad:{<sid>}:feedback   STRING msgspec JSON list of operator feedback records
    tsad:series             SET   ids of series that hold points (the global index)
    tsad:groups             HASH  group name → msgspec JSON document (tsad.multivariate)

Why chunks: the previous layout, one ZSET member of 16 packed bytes per point, cost
128 B/point (the skiplist and dict entry per member); a chunk of 256 points is one
member, so a point costs its 12 bytes plus a share of one entry (figures in
benchmarks/README.md). The append script merges a batch into the chunks whose span it
overlaps — for in-order data only the last chunk, while it has room — deduping by
timestamp (last write wins), and applies retention by dropping whole chunks and
cutting the first one; still one round trip. Windows are read as chunks (one ZRANGE)
and decoded by numpy. A series still in the previous layout (``tsad:{<sid>}:points``)
is converted by the first append that touches it, and every listed series is
converted when a buffer first talks to Redis (``MIGRATE_LUA``, once per database:
``tsad:layout`` records it).

The index set is global (another slot). On one Redis primary the append script
updates it atomically with the points. On a Redis Cluster (``redis+cluster://`` or
``TSAD_REDIS_CLUSTER=1``) a script may touch one slot only, so the append script
there touches the points alone and answers "new series" (writing nothing) for a
series it has never seen; the buffer then admits the series to the index (a
second script, on the index's slot, which also enforces ``max_series``) and
appends again. Only a series' first append pays the two extra round trips; every
other append is one round trip on the series' own slot, so the index is not a hot
key (measured against the alternatives in benchmarks/bench_redis_cluster.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import msgspec
import numpy as np
from redis import exceptions as rexc

from tsad.buffer.codec import encoder as _encoder
from tsad.buffer.redis_client import ColdStartGate, RedisClient, connect, is_cluster
from tsad.buffer.redis_scripts import (
    ANOMALIES_LUA,
    APPEND_CLUSTER_LUA,
    APPEND_LUA,
    CHUNK,
    MAX_ANOMALIES,
    MIGRATE_LUA,
    NEW_SERIES,
    RESERVE_LUA,
    TOO_MANY,
)
from tsad.errors import BackendError, BufferUnavailable, TooLarge
from tsad.series import FloatArray, IntArray, Series, clean
from tsad.settings import BufferSettings
from tsad.state import SeriesMeta, SeriesState, decode_meta, decode_state
from tsad.types import AppendResult, SeriesInfo

__all__ = ["POINT", "REDIS_ERRORS", "RedisBuffer", "connect", "translate"]

POINT = np.dtype([("ts", ">i8"), ("y", ">f8")])  # what an append sends (and the old layout)
_CHUNK_POINT = np.dtype([("off", ">u4"), ("y", ">f8")])
GROUPS_KEY = "tsad:groups"
LAYOUT = "2"  # tsad:layout once every listed series is in chunks
# Errors that mean "Redis is not there or not writable right now": retry later (503).
_UNAVAILABLE_REPLIES = (
    "OOM",
    "MISCONF",
    "LOADING",
    "READONLY",
    "TRYAGAIN",
    "MASTERDOWN",
    "CLUSTERDOWN",
    "MOVED",
    "ASK",
)
# A cluster that is not formed, partly down or resharding: redis-py's cluster errors
# (RedisClusterException is not a RedisError: no reachable node, slots not covered,
# redirections exhausted). Retrying later helps with every one of them.
_UNAVAILABLE_TYPES = (
    rexc.ConnectionError,
    rexc.TimeoutError,
    OSError,
    rexc.ReadOnlyError,
    rexc.RedisClusterException,
    rexc.ClusterError,
    rexc.ClusterDownError,
    rexc.TryAgainError,
    rexc.MasterDownError,
    rexc.BusyLoadingError,
    rexc.AskError,
    rexc.MovedError,
)
#: everything a redis-py call may raise (what the buffer and queue guards catch)
REDIS_ERRORS = (rexc.RedisError, rexc.RedisClusterException, OSError)


def translate(exc: Exception, what: str) -> BackendError:
    """A redis-py or socket failure as a tsad error: 503 if retrying later can help."""
    if isinstance(exc, (rexc.ConnectionError, rexc.TimeoutError, OSError)):
        return BufferUnavailable(f"Redis is unreachable ({what}): {exc}")
    message = str(exc)
    if isinstance(exc, _UNAVAILABLE_TYPES) or message.startswith(_UNAVAILABLE_REPLIES):
        return BufferUnavailable(f"Redis cannot serve {what}: {message}")
    return BackendError(f"Redis failed ({what}): {message}")


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _key(series_id: str, kind: str) -> str:
    return f"tsad:{{{series_id}}}:{kind}"


def _bound(value: int | None, default: str) -> str | int:
    return default if value is None else int(value)


def _chunk_base(member: bytes) -> int:
    return int.from_bytes(member[:8], "big", signed=True)


def _chunk_first(member: bytes) -> int:
    """The first point's timestamp (retention may have cut the chunk after its base)."""
    return _chunk_base(member) + int.from_bytes(member[8:12], "big")


def _decode_chunks(members: Sequence[bytes]) -> Series:
    """Chunks (in time order) → (ts int64, y float64) in native byte order."""
    if not members:
        return Series(np.empty(0, np.int64), np.empty(0, np.float64))
    recs = [np.frombuffer(m, _CHUNK_POINT, offset=8) for m in members]
    bases = np.repeat([_chunk_base(m) for m in members], [r.shape[0] for r in recs])
    rec = np.concatenate(recs)
    return Series(bases + rec["off"].astype(np.int64), rec["y"].astype(np.float64))


def _series_keys(series_id: str) -> list[str]:
    return [_key(series_id, "chunks"), _key(series_id, "count"), _key(series_id, "points")]


class RedisBuffer:
    """``Buffer`` on Redis (redis.asyncio + hiredis): one round trip per append."""

    def __init__(self, client: RedisClient, settings: BufferSettings | None = None) -> None:
        self.settings = settings or BufferSettings()
        self._r = client
        self._index = "tsad:series"
        self.cluster = is_cluster(client)
        self._gate = ColdStartGate(client)
        self._append = client.register_script(APPEND_CLUSTER_LUA if self.cluster else APPEND_LUA)
        self._migrate = client.register_script(MIGRATE_LUA)
        self._migrated = False
        self._reserve = client.register_script(RESERVE_LUA)
        self._add_anomalies = client.register_script(ANOMALIES_LUA)

    @classmethod
    def from_settings(cls, settings: BufferSettings) -> RedisBuffer:
        """Connect lazily to ``settings.redis_url`` (nothing is sent until first use)."""
        if not settings.redis_url:
            raise ValueError("RedisBuffer needs BufferSettings.redis_url")
        client = connect(
            settings.redis_url, settings.redis_timeout_s, cluster=settings.redis_cluster
        )
        return cls(client, settings)

    @contextlib.asynccontextmanager
    async def _guard(self, what: str) -> AsyncIterator[None]:
        """Turn redis/socket failures into tsad errors; nothing redis-specific leaks."""
        try:
            await self._gate.wait()
            if not self._migrated:
                await self._migrate_layout()
            yield
        except REDIS_ERRORS as exc:
            if isinstance(exc, rexc.ResponseError) and TOO_MANY in str(exc):
                raise TooLarge(
                    f"the buffer holds its maximum of {self.settings.max_series} series; "
                    "delete some or raise TSAD_MAX_SERIES"
                ) from exc
            raise translate(exc, what) from exc

    async def _migrate_layout(self) -> None:
        """Convert every listed series still in the previous layout (once per database;
        idempotent, so replicas starting together are harmless)."""
        if await self._r.get("tsad:layout") != LAYOUT.encode():
            for raw in cast(set[bytes], await self._r.smembers(self._index)):
                await self._migrate(keys=_series_keys(raw.decode()), args=[])
            await self._r.set("tsad:layout", LAYOUT)
        self._migrated = True

    async def append(self, series_id: str, ts: IntArray, y: FloatArray) -> AppendResult:
        if ts.shape[0] == 0:
            return AppendResult(0, 0)
        cleaned = clean(np.asarray(ts, np.int64), np.asarray(y, np.float64))
        rec = np.empty(cleaned.series.ts.shape[0], POINT)
        rec["ts"] = cleaned.series.ts
        rec["y"] = cleaned.series.y
        s = self.settings
        args: list[str | bytes | int] = [
            series_id,
            rec.tobytes(),
            s.max_points_per_series,
            (s.max_age_s or 0) * 1000,
            s.max_series,
        ]
        async with self._guard("append"):
            if not self.cluster:
                stored_dupes = await self._append(
                    keys=[*_series_keys(series_id), self._index], args=args
                )
            else:
                keys = _series_keys(series_id)
                args[-1] = 0
                stored_dupes = await self._append(keys=keys, args=args)
                if stored_dupes == NEW_SERIES:
                    await self._reserve(keys=[self._index], args=[series_id, s.max_series])
                    args[-1] = 1
                    stored_dupes = await self._append(keys=keys, args=args)
        dupes = cleaned.duplicates + int(stored_dupes)
        return AppendResult(accepted=int(ts.shape[0]) - dupes, duplicates=dupes)

    async def window(
        self,
        series_id: str,
        start: int | None = None,
        end: int | None = None,
        limit: int | None = None,
    ) -> Series:
        key = _key(series_id, "chunks")
        lo = _bound(start, "-inf")
        # chunks are scored by their last timestamp: those scored >= start hold the range
        # (and, past ``end``, a few to skip); with a limit, read back from the newest
        want = None if limit is None else limit // CHUNK + 2
        async with self._guard("window"):
            while True:
                if want is None:
                    members = await self._r.zrange(key, lo, "+inf", byscore=True)
                else:
                    members = await self._r.zrange(
                        key, "+inf", lo, desc=True, byscore=True, offset=0, num=want
                    )
                    members.reverse()
                got = _decode_chunks(cast(list[bytes], members))
                keep = np.ones(len(got), bool)
                if start is not None:
                    keep &= got.ts >= start
                if end is not None:
                    keep &= got.ts <= end
                if want is None or len(members) < want or int(keep.sum()) >= (limit or 0):
                    break
                want *= 4
        ts, y = got.ts[keep], got.y[keep]
        if limit is not None and ts.shape[0] > limit:
            ts, y = ts[-limit:], y[-limit:]
        return Series(ts, y)

    async def info(self, series_id: str) -> SeriesInfo | None:
        return (await self._infos([series_id]))[0]

    async def _infos(self, series_ids: Sequence[str]) -> list[SeriesInfo | None]:
        """Count, first, last and meta of many series in one round trip."""
        pipe = self._r.pipeline(transaction=False)
        for sid in series_ids:
            key = _key(sid, "chunks")
            pipe.get(_key(sid, "count"))
            pipe.zrange(key, 0, 0)
            pipe.zrange(key, -1, -1, withscores=True)
            pipe.get(_key(sid, "meta"))
        async with self._guard("info"):
            replies = await pipe.execute()
        out: list[SeriesInfo | None] = []
        for i, sid in enumerate(series_ids):
            count, head, tail, meta = replies[4 * i : 4 * i + 4]
            if not count:
                out.append(None)
                continue
            out.append(
                SeriesInfo(
                    series_id=sid,
                    count=int(count),
                    first=_chunk_first(head[0]),
                    last=int(tail[0][1]),
                    meta=decode_meta(meta) if meta else SeriesMeta(),
                )
            )
        return out

    async def list_series(self) -> list[SeriesInfo]:
        async with self._guard("list_series"):
            raw_ids = cast(set[bytes], await self._r.smembers(self._index))
        ids = sorted(m.decode() for m in raw_ids)
        out: list[SeriesInfo] = []
        for i in range(0, len(ids), 1000):
            out.extend(info for info in await self._infos(ids[i : i + 1000]) if info is not None)
        return out

    async def delete(self, series_id: str) -> bool:
        # a cluster cannot run a transaction across slots (the index is elsewhere)
        pipe = self._r.pipeline(transaction=not self.cluster)
        pipe.delete(_key(series_id, "chunks"), _key(series_id, "points"))
        pipe.delete(
            *(
                _key(series_id, k)
                for k in ("count", "state", "meta", "scorer", "anomalies", "feedback")
            )
        )
        pipe.srem(self._index, series_id)
        async with self._guard("delete"):
            removed, _, _ = await pipe.execute()
        return bool(removed)

    async def get_state(self, series_id: str) -> SeriesState | None:
        async with self._guard("get_state"):
            raw = await self._r.get(_key(series_id, "state"))
        return None if raw is None else decode_state(cast(bytes, raw))

    async def put_state(self, series_id: str, state: SeriesState) -> None:
        pipe = self._r.pipeline(transaction=True)
        pipe.set(_key(series_id, "state"), _encoder.encode(state))
        pipe.set(_key(series_id, "meta"), _encoder.encode(state.meta))
        async with self._guard("put_state"):
            await pipe.execute()

    async def get_scorer(self, series_id: str) -> dict[str, Any] | None:
        async with self._guard("get_scorer"):
            raw = await self._r.get(_key(series_id, "scorer"))
        return None if raw is None else dict(msgspec.json.decode(raw))

    async def put_scorer(self, series_id: str, scorer: dict[str, Any]) -> None:
        async with self._guard("put_scorer"):
            await self._r.set(_key(series_id, "scorer"), _encoder.encode(scorer))

    async def add_anomalies(self, series_id: str, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        args: list[Any] = [MAX_ANOMALIES]
        for record in records:
            args += [int(record["ts"]), _encoder.encode(record)]
        async with self._guard("add_anomalies"):
            await self._add_anomalies(keys=[_key(series_id, "anomalies")], args=args)

    async def anomalies(
        self, series_id: str, start: int | None = None, end: int | None = None
    ) -> list[dict[str, Any]]:
        key = _key(series_id, "anomalies")
        async with self._guard("anomalies"):
            raw = cast(
                list[bytes],
                await self._r.zrange(key, _bound(start, "-inf"), _bound(end, "+inf"), byscore=True),
            )
        return [dict(msgspec.json.decode(r)) for r in raw]

    # ----------------------------------------------------------------- feedback

    async def get_feedback(self, series_id: str) -> list[dict[str, Any]]:
        async with self._guard("get_feedback"):
            raw = await self._r.get(_key(series_id, "feedback"))
        return [] if raw is None else [dict(r) for r in msgspec.json.decode(raw)]

    async def put_feedback(self, series_id: str, records: Sequence[dict[str, Any]]) -> None:
        key = _key(series_id, "feedback")
        async with self._guard("put_feedback"):
            if records:
                await self._r.set(key, _encoder.encode(list(records)))
            else:
                await self._r.delete(key)

    # ------------------------------------------------------------------- groups

    async def get_groups(self) -> dict[str, dict[str, Any]]:
        async with self._guard("get_groups"):
            raw = await self._r.hgetall(GROUPS_KEY)
        return {_text(k): dict(msgspec.json.decode(v)) for k, v in raw.items()}

    async def put_group(self, name: str, doc: dict[str, Any] | None) -> None:
        async with self._guard("put_group"):
            if doc is None:
                await self._r.hdel(GROUPS_KEY, name)
            else:
                await self._r.hset(GROUPS_KEY, name, _encoder.encode(doc))

    async def ping(self) -> bool:
        try:
            async with self._guard("ping"):
                return bool(await self._r.ping())
        except BackendError:
            return False

    async def close(self) -> None:
        await self._r.aclose()
