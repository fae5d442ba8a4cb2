"""Integration metrics and wiring: per-series gauges opt-in, fits, outbound counters, hooks."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from tsad.integrations.hub import STATE_KEY, Integrations, attach
from tsad.integrations.outbound import AlertmanagerNotifier
from tsad.integrations.prometheus import IntegrationMetrics
from tsad.service import TsadService
from tsad.settings import IntegrationSettings, ModelSettings, Settings
from tsad.types import SeriesInfo


def text(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def infos(*pairs: tuple[str, int]) -> list[SeriesInfo]:
    return [SeriesInfo(sid, n, 0, n * 60_000) for sid, n in pairs]


def test_buffer_points_sum_all_series_without_per_series_labels() -> None:
    """By default only the total is exported: no series id ever becomes a label."""
    registry = CollectorRegistry()
    metrics = IntegrationMetrics(registry)
    metrics.observe_series(infos(("a", 10), ("b", 5)))
    out = text(registry)
    assert "tsad_buffer_points 15.0" in out
    assert "series_id" not in out


def test_per_series_gauges_follow_the_listing_when_opted_in() -> None:
    """With per-series on, each series has gauges; a forgotten series disappears."""
    registry = CollectorRegistry()
    metrics = IntegrationMetrics(registry, per_series=True)
    metrics.observe_series(infos(("a", 10), ("b", 5)))
    assert 'tsad_series_points{series_id="b"} 5.0' in text(registry)
    metrics.observe_series(infos(("a", 11)))
    out = text(registry)
    assert 'tsad_series_points{series_id="a"} 11.0' in out
    assert 'series_id="b"' not in out
    assert 'tsad_series_last_timestamp_seconds{series_id="a"} 660.0' in out


def test_fits_are_counted_by_outcome_with_durations() -> None:
    """Each fit adds to ok or failed and to the duration histogram."""
    registry = CollectorRegistry()
    metrics = IntegrationMetrics(registry)
    metrics.fit_done(0.03, True)
    metrics.fit_done(2.0, False)
    out = text(registry)
    assert 'tsad_model_fits_total{outcome="ok"} 1.0' in out
    assert 'tsad_model_fits_total{outcome="failed"} 1.0' in out
    assert "tsad_model_fit_duration_seconds_count 2.0" in out


def test_outbound_counters_are_read_at_scrape_time() -> None:
    """The notifier's sent/failed/dropped counts and queue depth appear in the exposition."""
    registry = CollectorRegistry()
    metrics = IntegrationMetrics(registry)
    notifier = AlertmanagerNotifier(("http://am.test",))
    metrics.watch_outbound(notifier)
    metrics.watch_outbound(notifier)  # a second call must not register twice
    notifier.stats.sent, notifier.stats.dropped = 4, 2
    out = text(registry)
    assert 'tsad_outbound_alerts_total{outcome="sent"} 4.0' in out
    assert 'tsad_outbound_alerts_total{outcome="dropped"} 2.0' in out
    assert "tsad_outbound_queue_depth 0.0" in out


async def test_hub_hooks_into_service_listener_lists() -> None:
    """Integrations register on the service's ingest and fit listener lists when present."""
    settings = Settings(
        models=ModelSettings(runner="thread"),
        integrations=IntegrationSettings(alertmanager_urls=("http://am.test:9093",)),
    )
    service = TsadService(settings)
    service.ingest_listeners = []  # type: ignore[attr-defined]
    service.fit_listeners = []  # type: ignore[attr-defined]
    hub = Integrations(service, settings, CollectorRegistry())
    assert service.ingest_listeners == [hub.on_ingest]  # type: ignore[attr-defined]
    assert hub.metrics is not None
    assert service.fit_listeners == [hub.metrics.fit_done]  # type: ignore[attr-defined]
    await hub.close()
    await service.close()


async def test_attach_creates_once_per_service() -> None:
    """attach() keeps one Integrations on the app state and reuses it."""
    service = TsadService(Settings(models=ModelSettings(runner="thread")))
    state: dict[str, object] = {}
    first = attach(state, service)
    assert attach(state, service) is first and state[STATE_KEY] is first
    assert first.outbound is None and first.metrics is None  # no URLs, no registry
    await service.close()
