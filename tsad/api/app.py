"""The Litestar application: ``create_app(settings)`` wires routes, errors,
metrics, OpenAPI and the service's lifecycle.

The app owns the ``TsadService`` it creates (closed on shutdown); an injected
one belongs to the caller. Model warm-up (importing statsforecast in the worker)
runs in the background so readiness never waits for it. Routes reach the
service and metrics through dependencies ``service`` and ``metrics``; other
route lists read ``app.state.settings`` / ``app.state.service`` /
``app.state.runner``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging.config import LoggingConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.types import ControllerRouterHandler

import tsad
from tsad.api.auth import api_key_guard
from tsad.api.docs import docs_plugins, docs_security
from tsad.api.errors import EXCEPTION_HANDLERS
from tsad.api.metrics import Metrics
from tsad.api.ratelimit import rate_limiting
from tsad.api.routes.azure import azure_routes
from tsad.api.routes.changepoints import changepoints
from tsad.api.routes.console import console_routes
from tsad.api.routes.detect import detect
from tsad.api.routes.export import export_series
from tsad.api.routes.feedback import feedback_routes
from tsad.api.routes.forecast import forecast
from tsad.api.routes.grafana import grafana_routes
from tsad.api.routes.group_feedback import group_feedback_routes
from tsad.api.routes.groups import group_routes
from tsad.api.routes.health import health_routes
from tsad.api.routes.remote_write import remote_write_routes
from tsad.api.routes.series import series_routes
from tsad.api.routes.status import status_routes
from tsad.api.routes.timegpt import timegpt_routes
from tsad.api.routes.webhooks import webhook_routes
from tsad.integrations.hub import attach
from tsad.service import TsadService
from tsad.settings import Settings

log = logging.getLogger("tsad.api")


def _service(state: State) -> TsadService:
    service: TsadService = state.service
    return service


def _metrics(state: State) -> Metrics:
    metrics: Metrics = state.metrics
    return metrics


async def _warm_up(service: TsadService) -> None:
    try:
        await service.runner.warm_up(service.settings.models.default_model)
        log.info("model runner warm")
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a failed warm-up only costs the first request its import time
        log.warning("model warm-up failed: %s", exc)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(
    settings: Settings | None = None,
    *,
    service: TsadService | None = None,
    extra_route_handlers: Sequence[ControllerRouterHandler] = (),
    debug: bool = False,
) -> Litestar:
    """Build the tsad HTTP app. ``settings`` default to ``Settings()`` (not the env)."""
    settings = settings or (service.settings if service is not None else Settings())
    injected = service
    limiter = rate_limiting(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(limiter.close)
            svc = injected
            if svc is None:
                # with Redis, refits go through the shared Redis Stream, and every
                # replica also works it (unless TSAD_EMBEDDED_WORKER is off), so bands
                # stay fresh with no `tsad worker` running; a series is never fitted twice
                svc = TsadService(settings)
                stack.push_async_callback(svc.close)
                await svc.start()
            app.state.service = svc
            app.state.runner = svc.runner
            if injected is None:
                svc.feedback.start()  # the ranker's retraining schedule
            hub = attach(app.state, svc, settings)
            stack.push_async_callback(hub.close)
            warm = asyncio.create_task(_warm_up(svc), name="tsad-warm-up")
            stack.push_async_callback(_cancel, warm)
            log.info(
                "tsad %s started buffer=%s runner=%s",
                tsad.__version__,
                type(svc.buffer).__name__,
                settings.models.runner,
            )
            yield
        log.info("tsad stopped")

    metrics = Metrics()
    routes: list[ControllerRouterHandler] = [
        health_routes,
        series_routes,
        feedback_routes,
        export_series,
        forecast,
        detect,
        timegpt_routes,
        changepoints,
        group_routes,
        group_feedback_routes,
        *azure_routes,
        *webhook_routes,
        *grafana_routes,
        status_routes,
        *console_routes,
        remote_write_routes,
        *extra_route_handlers,
    ]
    state: dict[str, Any] = {"settings": settings, "metrics": metrics}
    if injected is not None:
        state.update(service=injected, runner=injected.runner)
    return Litestar(
        route_handlers=routes,
        dependencies={
            "service": Provide(_service, sync_to_thread=False),
            "metrics": Provide(_metrics, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        # no keys configured: no app-wide guard (Litestar copies the handler per guard call)
        guards=[api_key_guard] if settings.api.api_keys else [],
        middleware=[metrics.middleware, *limiter.middleware],
        stores=limiter.stores,
        lifespan=[lifespan],
        state=State(state),
        request_max_body_size=settings.api.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="tsad",
            version=tsad.__version__,
            description="Self-hosted time-series forecasting and anomaly detection",
            path="/schema",
            render_plugins=docs_plugins(),
            **docs_security(settings),
        ),
        logging_config=LoggingConfig(
            root={"level": "WARNING", "handlers": ["queue_listener"]},
            loggers={"tsad": {"level": "INFO", "handlers": ["queue_listener"], "propagate": False}},
            log_exceptions="never",
        ),
        debug=debug,
    )
