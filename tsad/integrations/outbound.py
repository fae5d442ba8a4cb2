"""Outbound alerts: tsad's own anomalies, posted to Alertmanager's ``POST /api/v2/alerts``.

Ingestion must never wait on a receiver. ``OutboundAlerts`` (called with each
``IngestResult``) runs the alert semantics and only *queues* what to send;
``AlertmanagerNotifier`` drains a bounded queue in a background task, posting to
every configured URL with retries and exponential backoff. When the queue is full
the alert is dropped and counted, because blocking or growing without bound
would hurt the hot path more than a lost page.

While an alert is firing it is re-posted at most every ``resend_s`` (Alertmanager
resolves alerts it stops hearing about after its ``resolve_timeout``); when it
recovers it is posted once more with ``endsAt``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import httpx

from tsad.integrations.alertmanager import postable_alert
from tsad.integrations.alerts import AlertEvent, AlertPolicy, AlertTracker
from tsad.series import Scored
from tsad.settings import IntegrationSettings

if TYPE_CHECKING:
    from tsad.service import IngestResult

log = logging.getLogger("tsad.outbound")

ALERT_NAME = "TsadAnomaly"
_BATCH = 64
_MAX_BACKOFF_S = 30.0
_DIRECTION = {1: "up", -1: "down", 0: "none"}
_DROP_WARN_EVERY_S = 10.0


@dataclass
class NotifierStats:
    """Counts of what the notifier did (exported as Prometheus metrics)."""

    queued: int = 0
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    retries: int = 0


class AlertmanagerNotifier:
    """A bounded queue of postable alerts and the background task that delivers them."""

    def __init__(
        self,
        urls: tuple[str, ...],
        *,
        queue_size: int = 1_000,
        retries: int = 3,
        timeout_s: float = 5.0,
        backoff_s: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.urls = tuple(u.rstrip("/") + "/api/v2/alerts" for u in urls)
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.stats = NotifierStats()
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_size)
        self._transport = transport
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._warned_at = -_DROP_WARN_EVERY_S

    @classmethod
    def from_settings(cls, settings: IntegrationSettings) -> AlertmanagerNotifier:
        return cls(
            settings.alertmanager_urls,
            queue_size=settings.outbound_queue_size,
            retries=settings.outbound_retries,
            timeout_s=settings.outbound_timeout_s,
            backoff_s=settings.outbound_backoff_s,
        )

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def submit(self, alert: dict[str, Any]) -> bool:
        """Queue one alert without waiting; False (and counted) when the queue is full."""
        if not self.urls:
            return False
        try:
            self._queue.put_nowait(alert)
        except asyncio.QueueFull:
            self.stats.dropped += 1
            # a stuck receiver drops alerts at ingest rate: say so every few seconds, not per alert
            now = time.monotonic()
            if now - self._warned_at >= _DROP_WARN_EVERY_S:
                self._warned_at = now
                log.warning(
                    "outbound alert queue full (%d): %d alerts dropped so far",
                    self._queue.maxsize,
                    self.stats.dropped,
                )
            return False
        self.stats.queued += 1
        self._ensure_running()
        return True

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="tsad-outbound")

    async def _run(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout_s, transport=self._transport)
        try:
            while True:
                batch = [await self._queue.get()]
                while len(batch) < _BATCH and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                try:
                    for url in self.urls:
                        await self._post(url, batch)
                finally:
                    for _ in batch:
                        self._queue.task_done()
        finally:
            await self._client.aclose()
            self._client = None

    async def _post(self, url: str, batch: list[dict[str, Any]]) -> None:
        assert self._client is not None
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats.retries += 1
                delay = min(self.backoff_s * 2 ** (attempt - 1), _MAX_BACKOFF_S)
                # jitter spreads retries of many tsad replicas hitting one Alertmanager
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
            try:
                response = await self._client.post(url, json=batch)
            except httpx.HTTPError as exc:
                log.warning("posting %d alerts to %s failed: %s", len(batch), url, exc)
                continue
            if response.is_success:
                self.stats.sent += len(batch)
                return
            log.warning("%s answered %d: %s", url, response.status_code, response.text[:200])
            if response.status_code < 500 and response.status_code not in (408, 429):
                break  # the receiver refuses this body: retrying will not help
        self.stats.failed += len(batch)

    async def drain(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued has been delivered or given up on."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._queue.join()
        except TimeoutError:
            return False
        return True

    async def close(self, timeout_s: float = 2.0) -> None:
        """Deliver what is queued (within ``timeout_s``), then stop the task."""
        if self._task is None:
            return
        await self.drain(timeout_s)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None


class Ranker(Protocol):
    """What the alerts ask the learned ranker: p_true of an alert firing now."""

    async def __call__(
        self, series_id: str, ts: int, score: float, severity: float, direction: int
    ) -> float | None: ...


def feedback_links(external_url: str, series_id: str, ts: int) -> dict[str, str]:
    """Links an operator clicks to label the alert: the console's series page, with
    the incident's feedback buttons, and the API route the buttons post to."""
    base = external_url.rstrip("/")
    sid = quote(series_id, safe="")
    return {
        "feedback_url": f"{base}/console/series?id={sid}&feedback={ts // 1000}",
        "feedback_api": f"{base}/v1/series/{sid}/feedback",
    }


class OutboundAlerts:
    """Ingest listener: alert semantics over scored points, alerts queued for Alertmanager."""

    def __init__(
        self,
        notifier: AlertmanagerNotifier,
        policy: AlertPolicy,
        *,
        external_url: str | None = None,
        resend_s: float = 60.0,
    ) -> None:
        self.notifier = notifier
        self.tracker = AlertTracker(policy)
        self.external_url = external_url.rstrip("/") if external_url else None
        self.resend_s = resend_s
        self._firing: dict[str, tuple[AlertEvent, float]] = {}
        # the learned ranker (tsad.feedback): p_true of a firing alert, None while off;
        # ``hold`` says whether an alert with that p_true is suppressed
        self.ranker: Ranker | None = None
        self.hold: Callable[[float | None], bool] = lambda p: False
        self._p_true: dict[str, float | None] = {}
        self._held: set[str] = set()

    @classmethod
    def from_settings(cls, settings: IntegrationSettings) -> OutboundAlerts:
        return cls(
            AlertmanagerNotifier.from_settings(settings),
            AlertPolicy.from_settings(settings),
            external_url=settings.external_url,
        )

    async def __call__(self, result: IngestResult) -> None:
        """Called after each ingest; never waits on the network (the ranker reads the
        buffer only when an alert fires)."""
        events = self.tracker.update(result.series_id, result.scored)
        if self.ranker is not None:
            for e in events:
                if e.status == "firing":
                    p = await self.ranker(e.series_id, e.ts, e.score, e.severity, e.direction)
                    self._p_true[e.series_id] = p
        self._emit(result.series_id, events)

    def observe(self, series_id: str, scored: Scored) -> list[AlertEvent]:
        """Run the policy over newly scored points and queue alerts for what changed."""
        events = self.tracker.update(series_id, scored)
        self._emit(series_id, events)
        return events

    def _emit(self, series_id: str, events: list[AlertEvent]) -> None:
        now = time.monotonic()
        for event in events:
            if event.status == "firing":
                if self.hold(self._p_true.get(series_id)):
                    self._held.add(series_id)  # suppressed: neither sent nor resolved
                    continue
                self._held.discard(series_id)
                self._firing[series_id] = (event, now)
                self.notifier.submit(self.postable(event))
            elif series_id in self._held:
                self._held.discard(series_id)
            else:
                started = self._firing.pop(series_id, (event, now))[0]
                self.notifier.submit(self.postable(started, ends_ms=event.ts))
        held = self._firing.get(series_id)
        if held is not None and not events and now - held[1] >= self.resend_s:
            self._firing[series_id] = (held[0], now)
            self.notifier.submit(self.postable(held[0]))

    def postable(self, event: AlertEvent, ends_ms: int | None = None) -> dict[str, Any]:
        """The Alertmanager alert for a firing event (resolved when ``ends_ms`` is given)."""
        direction = _DIRECTION.get(event.direction, "none")
        labels = {"alertname": ALERT_NAME, "series_id": event.series_id, "direction": direction}
        annotations = {
            "summary": (
                f"{event.series_id}: {event.value:g} outside the expected band "
                f"[{event.lo:g}, {event.hi:g}] (expected {event.expected:g})"
            ),
            "value": f"{event.value:g}",
            "expected": f"{event.expected:g}",
            "lo": f"{event.lo:g}",
            "hi": f"{event.hi:g}",
            "score": f"{event.score:.4f}",
            "severity": f"{event.severity:.3f}",
        }
        url = f"{self.external_url}/v1/series/{event.series_id}" if self.external_url else None
        p_true = self._p_true.get(event.series_id)
        if p_true is not None:
            annotations["p_true"] = f"{p_true:.4f}"
        if self.external_url:
            annotations.update(feedback_links(self.external_url, event.series_id, event.ts))
        return postable_alert(
            labels, annotations, starts_ms=event.ts, ends_ms=ends_ms, generator_url=url
        )

    async def close(self) -> None:
        await self.notifier.close()
