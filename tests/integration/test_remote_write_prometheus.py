"""A real Prometheus remote-writes what it scrapes to a live `tsad serve` (Redis buffer),
and tsad killed with SIGKILL mid-stream loses no sample Prometheus stored."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.monitoring_peers import PROMETHEUS, http_json, wait_for
from tests.redis_server import RedisServer, own_redis  # noqa: F401  (fixture)
from tests.remote_write_peers import Exporter, RemoteWritingPrometheus, TsadProcess
from tsad.series import parse_timestamp

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        PROMETHEUS is None, reason="prometheus is not installed (apt-get install -y prometheus)"
    ),
]


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    exp = Exporter()
    yield exp
    exp.stop()


def stored(tsad: TsadProcess, series_id: str) -> dict[int, float]:
    """tsad's points of one series: ms → value."""
    body = http_json(f"{tsad.url}/v1/series/{series_id}/points")
    return {parse_timestamp(p["timestamp"]): p["value"] for p in body["points"]}


def test_prometheus_samples_land_in_tsad_and_survive_a_sigkill(
    own_redis: RedisServer,  # noqa: F811
    exporter: Exporter,
) -> None:
    """Scraped samples appear as tsad series with their values; after tsad is SIGKILLed and
    restarted, Prometheus's retries deliver every sample it stored, none lost."""
    with tempfile.TemporaryDirectory(prefix="tsad-rw-") as tmp:
        tsad = TsadProcess(
            Path(tmp), TSAD_REDIS_URL=own_redis.url, TSAD_REMOTE_WRITE_MATCH="demo_value; up"
        ).start()
        prom = RemoteWritingPrometheus(f"127.0.0.1:{exporter.port}", f"{tsad.url}/api/v1/write")
        try:
            prom.start("/-/ready")
            target = f"127.0.0.1:{exporter.port}"
            sid = f"demo_value,instance={target},job=demo,kind=gauge"
            wait_for(lambda: len(stored(tsad, sid)) >= 3, 30, f"samples in tsad ({prom.log()})")
            # only what TSAD_REMOTE_WRITE_MATCH selects became series
            ids = {s["series_id"] for s in http_json(f"{tsad.url}/v1/series")["series"]}
            assert ids == {sid, f"up,instance={target},job=demo"}

            tsad.kill()
            time.sleep(3)  # scrapes go on; remote-write batches fail (connection refused)
            tsad.start()
            time.sleep(2)
            prom_samples = prom.raw_samples('demo_value{kind="gauge"}')
            assert len(prom_samples) >= 6

            def delivered() -> bool:
                got = stored(tsad, sid)
                return all(got.get(t) == v for t, v in prom_samples.items())

            wait_for(delivered, 30, f"every Prometheus sample in tsad ({prom.log()})")
            assert prom.own_metric("prometheus_remote_storage_samples_failed_total") == 0
            assert prom.own_metric("prometheus_remote_storage_samples_retried_total") > 0
            # values are the exporter's scrape counts, in order: none missing in between
            got = stored(tsad, sid)
            window = [got[t] for t in sorted(got) if t <= max(prom_samples)]
            assert window == [float(v) for v in range(int(window[0]), int(window[-1]) + 1)]
        finally:
            prom.cleanup()
            tsad.kill()
