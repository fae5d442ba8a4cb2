"""The integrations of one running service, created once and shared by the routes.

``attach`` builds them on an app's state (idempotent): the alert counter the
webhook routes record into, the outbound alerts fed by every ingest, and the
extra Prometheus metrics. It hooks into the service through listener lists the
service exposes (``ingest_listeners``, ``fit_listeners``) when it has them, so
outbound alerts follow the online path without the service knowing about
Alertmanager.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from tsad.integrations.alerts import AlertCounter
from tsad.integrations.outbound import OutboundAlerts
from tsad.integrations.prometheus import IntegrationMetrics
from tsad.settings import Settings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from tsad.service import IngestResult, TsadService

log = logging.getLogger("tsad.integrations")

STATE_KEY = "integrations"


class Integrations:
    """Alert counter, outbound alerts and integration metrics for one service."""

    def __init__(
        self,
        service: TsadService,
        settings: Settings,
        registry: CollectorRegistry | None = None,
    ) -> None:
        cfg = settings.integrations
        self.service = service
        self.settings = settings
        self.counter = AlertCounter(service, cfg)
        self.outbound = OutboundAlerts.from_settings(cfg) if cfg.alertmanager_urls else None
        self.metrics = (
            IntegrationMetrics(registry, per_series=cfg.metrics_per_series)
            if registry is not None
            else None
        )
        if self.metrics is not None and self.outbound is not None:
            self.metrics.watch_outbound(self.outbound.notifier)
        desk = getattr(service, "feedback", None)
        if desk is not None and self.outbound is not None:
            # the learned ranker attaches p_true to each alert and may hold some back
            self.outbound.ranker = desk.p_true
            self.outbound.hold = desk.suppress
        listeners = getattr(service, "ingest_listeners", None)
        if isinstance(listeners, list) and self.outbound is not None:
            listeners.append(self.on_ingest)
        fits = getattr(service, "fit_listeners", None)
        if isinstance(fits, list) and self.metrics is not None:
            fits.append(self.metrics.fit_done)

    async def on_ingest(self, result: IngestResult) -> None:
        """After every ingest: alert semantics, and alerts queued (never awaited)."""
        if self.outbound is not None:
            await self.outbound(result)

    async def close(self) -> None:
        if self.outbound is not None:
            await self.outbound.close()


def attach(state: Any, service: TsadService, settings: Settings | None = None) -> Integrations:
    """The app's ``Integrations``, created on first use and kept on ``state``."""
    hub = state.get(STATE_KEY) if hasattr(state, "get") else None
    if isinstance(hub, Integrations) and hub.service is service:
        return hub
    metrics = state.get("metrics") if hasattr(state, "get") else None
    registry = getattr(metrics, "registry", None)
    hub = Integrations(service, settings or service.settings, registry)
    state[STATE_KEY] = hub
    return hub
