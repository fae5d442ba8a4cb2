"""``tsad consume SOURCE``: the service, the source and the loop, until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from tsad.integrations.streams.consumer import ConsumeOptions, ConsumeStats, consume
from tsad.integrations.streams.source import make_source
from tsad.settings import Settings

log = logging.getLogger("tsad.consume")


async def run_consume(
    settings: Settings,
    url: str,
    *,
    stream: str,
    group: str,
    consumer: str,
    subject: str | None,
    dead_letter: str | None,
    options: ConsumeOptions,
) -> ConsumeStats:
    """Consume into the buffer of ``settings`` (refits queued as ``tsad serve`` queues
    them; outbound alerts as configured) until a stop signal."""
    from tsad.integrations.hub import attach
    from tsad.service import TsadService

    source = make_source(
        url, stream=stream, group=group, consumer=consumer, subject=subject, dead_letter=dead_letter
    )
    # with Redis the refits are the workers' (or the replicas'); in-process otherwise
    service = TsadService(settings, consume=not settings.buffer.redis_url)
    hub = attach({}, service, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    stats = ConsumeStats()
    log.info("consuming %s", source.description)
    try:
        await consume(service, source, stop, options, stats)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        with contextlib.suppress(Exception):
            await source.close()
        await hub.close()
        await service.close()
    return stats
