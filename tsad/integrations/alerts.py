"""Alerts in both directions: counting the ones monitoring systems send us, and
deciding when tsad's own anomalies deserve one.

* ``AlertCounter`` turns webhook alerts into alert-count series (``alerts:<rule>``
  and ``alerts:total``), one point per bucket, ingested like any other series so
  that an alert storm is itself scored as an anomaly. A bucket's value is the
  count so far; a later webhook for the same bucket re-posts the raised count (the
  buffer's last write wins). Repeats of a firing episode (same fingerprint, same
  ``startsAt``) and resolved notifications are not counted.
* ``AlertTracker`` applies Datadog-style monitor semantics to scored points:
  direction filter, trigger when N of the last M points are anomalous, resolve
  after a recovery window of quiet points — so one noisy point pages nobody.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tsad.detect.incidents import GAP_STEPS
from tsad.errors import ConfigError
from tsad.series import Scored, freq_alias, to_series_id
from tsad.settings import ALERT_DIRECTIONS, IntegrationSettings

if TYPE_CHECKING:
    from tsad.service import IngestResult, TsadService

TOTAL_SERIES = "alerts:total"
_DIRECTION_SIGN = {"up": 1, "down": -1}


@dataclass(frozen=True)
class IncomingAlert:
    """One alert of a webhook, normalised: rule name, identity, state, start (ms)."""

    rule: str
    fingerprint: str
    status: str  # "firing" or "resolved"
    starts_ms: int | None


@dataclass(frozen=True)
class CountReport:
    """What recording one webhook did."""

    received: int
    counted: int
    repeats: int
    resolved: int
    results: list[IngestResult] = field(default_factory=list)


def rule_series_id(rule: str) -> str:
    """``alerts:<rule>`` as a valid series id; never collides with the total."""
    sid = to_series_id(f"alerts:{rule or '_unnamed'}")
    return sid + "_rule" if sid == TOTAL_SERIES else sid


class _BoundedSet:
    """Insertion-ordered set that forgets its oldest members beyond ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """Add ``key``; False if it was already there."""
        if key in self._items:
            self._items.move_to_end(key)
            return False
        self._items[key] = None
        if len(self._items) > self.limit:
            self._items.popitem(last=False)
        return True

    def discard(self, key: str) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


class AlertCounter:
    """Records webhook alerts into alert-count series through ``TsadService.ingest``."""

    def __init__(self, service: TsadService, settings: IntegrationSettings) -> None:
        self.service = service
        self.bucket_ms = settings.alert_bucket_ms
        self.fill_max = settings.alert_fill_max
        self.seen = _BoundedSet(settings.seen_fingerprints_max)
        # read-add-write of a bucket must not interleave between two webhooks
        self._lock = asyncio.Lock()

    def _bucket(self, starts_ms: int | None, now_ms: int) -> int:
        # a start in the future is clock skew between hosts: count it now
        at = now_ms if starts_ms is None or starts_ms > now_ms + self.bucket_ms else starts_ms
        return at - at % self.bucket_ms

    def _episode_key(self, alert: IncomingAlert) -> str:
        start = "-" if alert.starts_ms is None else str(alert.starts_ms)
        return f"{alert.fingerprint}@{start}"

    async def record(
        self, alerts: Sequence[IncomingAlert], now_ms: int | None = None
    ) -> CountReport:
        """Count the new firing alerts per rule and in total, bucketed, and ingest the counts."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        added: dict[str, dict[int, int]] = {}
        counted = repeats = resolved = 0
        async with self._lock:
            for alert in alerts:
                if alert.status != "firing":
                    resolved += 1
                    # an episode without startsAt is only told apart by its resolution
                    self.seen.discard(f"{alert.fingerprint}@-")
                    continue
                if not self.seen.add(self._episode_key(alert)):
                    repeats += 1
                    continue
                counted += 1
                bucket = self._bucket(alert.starts_ms, now)
                for sid in (rule_series_id(alert.rule), TOTAL_SERIES):
                    per = added.setdefault(sid, {})
                    per[bucket] = per.get(bucket, 0) + 1
            results = [await self._write(sid, per) for sid, per in sorted(added.items())]
        return CountReport(len(alerts), counted, repeats, resolved, results)

    async def _write(self, series_id: str, added: dict[int, int]) -> IngestResult:
        step = self.bucket_ms
        buffer = self.service.buffer
        lo, hi = min(added), max(added)
        # buckets with no alert since the last count are zeros, not missing data
        info = await buffer.info(series_id)
        if info is not None and info.last is not None and info.last < lo:
            lo = info.last - info.last % step + step
        lo = max(lo, hi - self.fill_max * step)
        stored = await buffer.window(series_id, min(lo, min(added)), hi)
        current = dict(zip(stored.ts.tolist(), stored.y.tolist(), strict=True))
        empty = {b for b in range(lo, hi, step) if b not in current}
        ts = sorted(empty | set(added))
        ys = [current.get(b, 0.0) + added.get(b, 0) for b in ts]
        return await self.service.ingest(
            series_id,
            np.asarray(ts, np.int64),
            np.asarray(ys, np.float64),
            freq=freq_alias(self.bucket_ms),
        )


# --------------------------------------------------------------------------- semantics


@dataclass(frozen=True)
class AlertPolicy:
    """When anomalies become an alert: ``n`` of the last ``m`` points in ``direction``
    trigger it; ``recovery`` consecutive points that are not resolve it."""

    direction: str = "both"
    n: int = 1
    m: int = 1
    recovery: int = GAP_STEPS

    def __post_init__(self) -> None:
        if self.direction not in ALERT_DIRECTIONS:
            raise ConfigError(f"alert direction must be one of {ALERT_DIRECTIONS}")
        if not 1 <= self.n <= self.m:
            raise ConfigError(f"alert needs 1 <= N <= M, got N={self.n} M={self.m}")
        if self.recovery < 1:
            raise ConfigError(f"alert recovery must be >= 1 point, got {self.recovery}")

    @classmethod
    def from_settings(cls, settings: IntegrationSettings) -> AlertPolicy:
        return cls(
            settings.alert_direction, settings.alert_n, settings.alert_m, settings.alert_recovery
        )


@dataclass(frozen=True)
class AlertEvent:
    """A state change of one series' alert, with the point that caused it."""

    series_id: str
    status: str  # "firing" or "resolved"
    ts: int
    value: float
    expected: float
    lo: float
    hi: float
    direction: int
    score: float
    severity: float


class _Track:
    __slots__ = ("calm", "firing", "last_ts", "recent")

    def __init__(self, m: int) -> None:
        self.recent: deque[bool] = deque(maxlen=m)
        self.firing = False
        self.calm = 0
        self.last_ts = -(2**63)


class AlertTracker:
    """Per-series alert state machines (bounded: least recently updated forgotten)."""

    def __init__(self, policy: AlertPolicy, max_series: int = 100_000) -> None:
        self.policy = policy
        self.max_series = max_series
        self._tracks: OrderedDict[str, _Track] = OrderedDict()

    def firing(self) -> list[str]:
        """Series whose alert is firing now."""
        return [sid for sid, t in self._tracks.items() if t.firing]

    def forget(self, series_id: str) -> None:
        self._tracks.pop(series_id, None)

    def _hit(self, scored: Scored, i: int) -> bool:
        if not scored.is_anomaly[i]:
            return False
        sign = _DIRECTION_SIGN.get(self.policy.direction)
        return sign is None or int(scored.direction[i]) == sign

    def update(self, series_id: str, scored: Scored) -> list[AlertEvent]:
        """Feed newly scored points (any order); return the alert's state changes."""
        track = self._tracks.get(series_id)
        if track is None:
            track = self._tracks[series_id] = _Track(self.policy.m)
            if len(self._tracks) > self.max_series:
                self._tracks.popitem(last=False)
        else:
            self._tracks.move_to_end(series_id)
        events: list[AlertEvent] = []
        for i in np.argsort(scored.ts, kind="stable").tolist():
            # late points cannot rewrite history; unscored points (no band) say nothing
            if scored.ts[i] <= track.last_ts or np.isnan(scored.expected[i]):
                continue
            track.last_ts = int(scored.ts[i])
            hit = self._hit(scored, i)
            track.recent.append(hit)
            if not track.firing:
                if sum(track.recent) >= self.policy.n:
                    track.firing, track.calm = True, 0
                    events.append(_event(series_id, "firing", scored, i))
                continue
            track.calm = 0 if hit else track.calm + 1
            if track.calm >= self.policy.recovery:
                track.firing = False
                track.recent.clear()
                events.append(_event(series_id, "resolved", scored, i))
        return events


def _event(series_id: str, status: str, scored: Scored, i: int) -> AlertEvent:
    return AlertEvent(
        series_id=series_id,
        status=status,
        ts=int(scored.ts[i]),
        value=float(scored.value[i]),
        expected=float(scored.expected[i]),
        lo=float(scored.lo[i]),
        hi=float(scored.hi[i]),
        direction=int(scored.direction[i]),
        score=float(scored.score[i]),
        severity=float(scored.severity[i]),
    )
