"""Refit work shared by every tsad process: a Redis Stream read by a consumer group.

``schedule`` (API replicas) sets the series' pending mark ``tsad:{<sid>}:refit``
with SET NX EX and, only if it was not set, XADDs the series to ``tsad:refit`` —
one script, so two replicas racing for the same series queue it once. On a Redis
Cluster the mark and the stream live on different slots, so there the two are
separate commands: SET NX EX still lets exactly one replica win, and the winner
XADDs (dropping its mark again if the XADD fails, so the series is not blocked).
The stream is one key, so the consumer group works unchanged on a cluster. Workers
XREADGROUP new entries, XCLAIM their own entries as a heartbeat while fitting,
and XACK + XDEL + drop the mark when done. The mark lives until the ack, so a
series queued or being fitted is not queued (nor fitted) a second time. Entries
of a dead worker stay in the group's pending list; XAUTOCLAIM hands them to a
living worker once idle longer than the reclaim time.

A series job is the entry ``{sid: <series id>}``; a global fit is
``{global: <kind>, step_ms: <ms>}``, marked at ``tsad:{global/<kind>/<ms>}:refit``
(series ids cannot hold ``/``, so the marks cannot collide).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from redis import exceptions as rexc

from tsad.buffer.redis import REDIS_ERRORS, translate
from tsad.buffer.redis_client import ColdStartGate, RedisClient, connect, is_cluster
from tsad.queue.consumer import InProcessConsumer
from tsad.settings import Settings, WorkerSettings
from tsad.types import Entry, GlobalFitJob, RefitJob, RunJob

# KEYS: mark, stream. ARGV: mark TTL s, approximate stream cap, then the entry's
# field/value pairs.
_SCHEDULE_LUA = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
  return 1
end
return 0
"""


def _mark(job: RefitJob) -> str:
    if isinstance(job, GlobalFitJob):
        return f"tsad:{{global/{job.kind}/{job.step_ms}}}:refit"
    return f"tsad:{{{job}}}:refit"


def _fields(job: RefitJob) -> dict[str, str]:
    if isinstance(job, GlobalFitJob):
        return {"global": job.kind, "step_ms": str(job.step_ms)}
    return {"sid": job}


def _job(fields: dict[bytes, bytes]) -> RefitJob:
    kind = fields.get(b"global")
    if kind is not None:
        return GlobalFitJob(_text(kind), int(fields[b"step_ms"]))
    return _text(fields[b"sid"])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisRefitQueue:
    """``RefitQueue`` on a Redis Stream + consumer group + per-series pending mark."""

    def __init__(
        self,
        client: RedisClient,
        *,
        pending_ttl_s: int = 3_600,
        timeout_s: float = 2.0,
        stream: str = "tsad:refit",
        group: str = "tsad-workers",
        max_len: int = 1_000_000,
        worker: WorkerSettings | None = None,
    ) -> None:
        self._r = client
        self._ttl_s = pending_ttl_s
        self._timeout_ms = int(timeout_s * 1000)
        self.stream, self.group = stream, group
        self._max_len = max_len
        self._schedule = client.register_script(_SCHEDULE_LUA)
        self._cluster = is_cluster(client)
        self._gate = ColdStartGate(client)
        self._group_ready = False
        # each `tsad serve` replica also works the shared queue (TSAD_EMBEDDED_WORKER);
        # a stop finishes the job in hand
        self._consumer = InProcessConsumer(worker or WorkerSettings(), graceful=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisRefitQueue:
        url = settings.buffer.redis_url
        if not url:
            raise ValueError("RedisRefitQueue needs TSAD_REDIS_URL")
        timeout = settings.buffer.redis_timeout_s
        client = connect(url, timeout, cluster=settings.buffer.redis_cluster)
        worker = settings.worker
        return cls(client, pending_ttl_s=worker.pending_ttl_s, timeout_s=timeout, worker=worker)

    async def start(self, run: RunJob) -> None:
        """Work the shared queue from this process too (the replica's embedded worker)."""
        from tsad.worker import default_consumer_name

        self._consumer.start(self, run, default_consumer_name())

    async def stop(self) -> None:
        await self._consumer.stop()

    @contextlib.asynccontextmanager
    async def _guard(self, what: str) -> AsyncIterator[None]:
        try:
            await self._gate.wait()
            yield
        except REDIS_ERRORS as exc:
            if isinstance(exc, rexc.ConnectionError):
                self._group_ready = False  # Redis may come back empty: check the group again
            raise translate(exc, what) from exc

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            # from id 0: entries queued before any worker ever started are read too
            await self._r.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except rexc.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def schedule(self, job: RefitJob) -> bool:
        if self._cluster:
            return await self._schedule_cluster(job)
        pairs = [x for kv in _fields(job).items() for x in kv]
        async with self._guard("schedule refit"):
            added = await self._schedule(
                keys=[_mark(job), self.stream], args=[self._ttl_s, self._max_len, *pairs]
            )
        return bool(added)

    async def _schedule_cluster(self, job: RefitJob) -> bool:
        mark = _mark(job)
        async with self._guard("schedule refit"):
            if not await self._r.set(mark, "1", nx=True, ex=self._ttl_s):
                return False
            try:
                fields: dict[Any, Any] = _fields(job)
                await self._r.xadd(self.stream, fields, maxlen=self._max_len, approximate=True)
            except BaseException:
                await self._r.delete(mark)
                raise
        return True

    async def claim(self, consumer: str, count: int = 1, block_ms: int = 1_000) -> list[Entry]:
        # the blocking read must end before the socket timeout, or it reads as an outage
        block = max(0, min(block_ms, self._timeout_ms - 250))

        async def read() -> list[Entry]:
            reply: list[Any] = await self._r.xreadgroup(  # type: ignore[assignment]
                self.group, consumer, {self.stream: ">"}, count=count, block=block or None
            )
            return await self._taken([e for _, entries in reply for e in entries])

        return await self._with_group("claim refits", read)

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int = 10) -> list[Entry]:
        async def autoclaim() -> list[Entry]:
            out: list[Entry] = []
            start = "0-0"
            while len(out) < count:
                reply = await self._r.xautoclaim(
                    self.stream, self.group, consumer, min_idle_ms, start, count=count - len(out)
                )
                start = _text(reply[0])
                out += await self._taken(reply[1])
                if start == "0-0":
                    break
            return out

        return await self._with_group("reclaim refits", autoclaim)

    async def _with_group(
        self, what: str, call: Callable[[], Awaitable[list[Entry]]]
    ) -> list[Entry]:
        """Run a group command; if Redis lost the group (an empty restart), recreate it once."""
        async with self._guard(what):
            await self._ensure_group()
            try:
                return await call()
            except rexc.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
            self._group_ready = False
            await self._ensure_group()
            return await call()

    async def _taken(self, entries: list[Any]) -> list[Entry]:
        """Decode entries and renew their series' marks: work in hand keeps its mark."""
        out: list[Entry] = []
        for entry_id, fields in entries:
            if entry_id is None or not fields:
                continue  # deleted from the stream while pending
            out.append((_text(entry_id), _job(fields)))
        if out:
            pipe = self._r.pipeline(transaction=False)
            for _, job in out:
                pipe.expire(_mark(job), self._ttl_s)
            await pipe.execute()
        return out

    async def touch(self, consumer: str, entry_id: str) -> None:
        async with self._guard("refit heartbeat"):
            # XCLAIM by the owner resets the entry's idle time: XAUTOCLAIM leaves it alone
            await self._r.xclaim(self.stream, self.group, consumer, 0, [entry_id], justid=True)

    async def ack(self, entry_id: str, job: RefitJob) -> None:
        pipe = self._r.pipeline(transaction=False)
        pipe.xack(self.stream, self.group, entry_id)
        pipe.xdel(self.stream, entry_id)
        pipe.delete(_mark(job))
        async with self._guard("ack refit"):
            await pipe.execute()

    async def pending(self) -> int:
        """Entries claimed but not acked (tests, metrics)."""
        async with self._guard("pending refits"):
            await self._ensure_group()
            summary = await self._r.xpending(self.stream, self.group)
        return int(summary["pending"])

    async def close(self) -> None:
        await self.stop()
        await self._r.aclose()
