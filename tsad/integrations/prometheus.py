"""Prometheus metrics the integrations add to an app's registry (``tsad.api.metrics``
already counts requests, points and anomalies).

Here: webhook alerts received (by source and what became of them), model fits
(count, duration, failures), buffer size in points, outbound alert delivery, and —
only when ``TSAD_METRICS_PER_SERIES`` is on, because every series becomes a
Prometheus series — per-series point counts and last timestamps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tsad.integrations.outbound import AlertmanagerNotifier
from tsad.types import SeriesInfo

# fits range from SeasonalNaive's milliseconds to neural fits of minutes
_FIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
WEBHOOK_OUTCOMES = ("counted", "repeat", "resolved")


class _OutboundCollector(Collector):
    """Reads the notifier's counters at scrape time (no double bookkeeping)."""

    def __init__(self, notifier: AlertmanagerNotifier) -> None:
        self.notifier = notifier

    def collect(self) -> Iterable[Metric]:
        stats = self.notifier.stats
        sent = CounterMetricFamily(
            "tsad_outbound_alerts",
            "Alerts tsad posted to Alertmanager, by outcome",
            labels=["outcome"],
        )
        for outcome in ("sent", "failed", "dropped"):
            sent.add_metric([outcome], getattr(stats, outcome))
        yield sent
        yield CounterMetricFamily(
            "tsad_outbound_retries", "Retried posts to Alertmanager", value=stats.retries
        )
        yield GaugeMetricFamily(
            "tsad_outbound_queue_depth",
            "Outbound alerts waiting to be posted",
            value=self.notifier.pending,
        )


class IntegrationMetrics:
    """Collectors registered on one app's registry."""

    def __init__(self, registry: CollectorRegistry, *, per_series: bool = False) -> None:
        self.registry = registry
        self.per_series = per_series
        self.webhook_alerts = Counter(
            "tsad_webhook_alerts",
            "Alerts received on webhooks, by source and outcome",
            ["source", "outcome"],
            registry=registry,
        )
        for source in ("grafana", "alertmanager"):
            for outcome in WEBHOOK_OUTCOMES:
                self.webhook_alerts.labels(source, outcome)
        self.fits = Counter(
            "tsad_model_fits",
            "Model fits run for stored bands, by outcome (ok or failed)",
            ["outcome"],
            registry=registry,
        )
        self.fits.labels("ok")
        self.fits.labels("failed")
        self.fit_seconds = Histogram(
            "tsad_model_fit_duration_seconds",
            "Wall time of a model fit for a stored band",
            buckets=_FIT_BUCKETS,
            registry=registry,
        )
        self.buffer_points = Gauge(
            "tsad_buffer_points",
            "Points held in the buffer over all series (updated at each scrape)",
            registry=registry,
        )
        self.series_points: Gauge | None = None
        self.series_last: Gauge | None = None
        if per_series:
            self.series_points = Gauge(
                "tsad_series_points",
                "Points held for one series",
                ["series_id"],
                registry=registry,
            )
            self.series_last = Gauge(
                "tsad_series_last_timestamp_seconds",
                "Timestamp of a series' newest point",
                ["series_id"],
                registry=registry,
            )
        self._outbound: _OutboundCollector | None = None

    def watch_outbound(self, notifier: AlertmanagerNotifier) -> None:
        """Export a notifier's delivery counters and queue depth (once per app)."""
        if self._outbound is None:
            self._outbound = _OutboundCollector(notifier)
            self.registry.register(self._outbound)

    def count_webhook(self, source: str, counted: int, repeats: int, resolved: int) -> None:
        for outcome, n in zip(WEBHOOK_OUTCOMES, (counted, repeats, resolved), strict=True):
            if n:
                self.webhook_alerts.labels(source, outcome).inc(n)

    def fit_done(self, seconds: float, ok: bool) -> None:
        """Record one model fit (the service's fit hook calls this)."""
        self.fits.labels("ok" if ok else "failed").inc()
        self.fit_seconds.observe(seconds)

    def observe_series(self, infos: Sequence[SeriesInfo]) -> None:
        """Buffer size from a series listing (taken at scrape time)."""
        self.buffer_points.set(sum(info.count for info in infos))
        if self.series_points is None or self.series_last is None:
            return
        # forgotten series must disappear from the exposition, not linger at a stale value
        self.series_points.clear()
        self.series_last.clear()
        for info in infos:
            self.series_points.labels(info.series_id).set(info.count)
            if info.last is not None:
                self.series_last.labels(info.series_id).set(info.last / 1000)
