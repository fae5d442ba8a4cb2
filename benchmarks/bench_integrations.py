"""Integrations: does outbound alerting slow ingestion, and how fast are webhooks counted?

* ingest of 1-point batches against a stored band, every point anomalous (so the
  alert state machine fires and re-posts), with outbound alerts on — posting to a
  receiver that never answers — versus off, in the same run;
* webhook counting: ``AlertCounter.record`` of 100-alert Alertmanager payloads
  (parse + dedupe + bucket + ingest of the count series), alerts per second.

In-process, memory buffer, thread runner. Usage: ``nice python3 benchmarks/bench_integrations.py``
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import httpx
import numpy as np

from tsad.integrations.alertmanager import parse_alertmanager
from tsad.integrations.alerts import AlertCounter, AlertPolicy
from tsad.integrations.outbound import AlertmanagerNotifier, OutboundAlerts
from tsad.service import TsadService
from tsad.settings import IntegrationSettings, ModelSettings, Settings

HOUR = 3_600_000
N_POINTS = 2_000


async def _hang(request: httpx.Request) -> httpx.Response:
    await asyncio.sleep(3600)  # a receiver that never answers
    return httpx.Response(200)


async def ingest_rate(
    service: TsadService, sid: str, start: int, outbound: OutboundAlerts | None
) -> float:
    times = []
    for k in range(N_POINTS):
        ts = np.array([start + k * 60_000], np.int64)
        t0 = time.perf_counter()
        result = await service.ingest(sid, ts, np.array([1e6]))
        if outbound is not None:
            await outbound(result)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


async def main() -> None:
    settings = Settings(models=ModelSettings(runner="thread"))
    service = TsadService(settings)
    rng = np.random.default_rng(0)
    for sid in ("off", "on"):
        ts = np.arange(72, dtype=np.int64) * HOUR
        y = 50 + 5 * np.sin(2 * np.pi * np.arange(72) / 24) + rng.normal(0, 0.5, 72)
        await service.ingest(sid, ts, y)
        await service.refit(sid)
    # a band of 1-minute points would need refits; score against the hourly band's reach
    notifier = AlertmanagerNotifier(
        ("http://am.invalid:9093",), queue_size=100, transport=httpx.MockTransport(_hang)
    )
    outbound = OutboundAlerts(notifier, AlertPolicy(n=1, m=1, recovery=1), resend_s=0.0)
    start = 72 * HOUR
    off = await ingest_rate(service, "off", start, None)
    on = await ingest_rate(service, "on", start, outbound)
    print(f"ingest 1 point, outbound off: median {off:.1f} us")
    print(f"ingest 1 point, outbound on (receiver hung, queue full): median {on:.1f} us")
    print(
        f"ratio on/off: {on / off:.2f}; "
        f"dropped {notifier.stats.dropped}, queued {notifier.stats.queued}"
    )
    await notifier.close(timeout_s=0.1)

    counter = AlertCounter(service, IntegrationSettings())
    payloads = []
    for p in range(50):
        alerts = [
            {
                "status": "firing",
                "labels": {"alertname": f"rule{i % 5}"},
                "fingerprint": f"{p}-{i}",
                "startsAt": f"2024-03-04T10:{p % 60:02d}:{i % 60:02d}Z",
            }
            for i in range(100)
        ]
        payloads.append(json.dumps({"version": "4", "status": "firing", "alerts": alerts}).encode())
    t0 = time.perf_counter()
    for body in payloads:
        _, alerts = parse_alertmanager(body)
        await counter.record(alerts)
    elapsed = time.perf_counter() - t0
    print(
        f"webhook counting: {50 * 100 / elapsed:,.0f} alerts/s "
        f"({elapsed / 50 * 1e3:.1f} ms per 100-alert payload)"
    )
    await service.close()


if __name__ == "__main__":
    asyncio.run(main())
