"""Samples lost when `tsad serve` is SIGKILLed and restarted while a real Prometheus
remote-writes to it (Redis buffer): every sample Prometheus stored is looked up in tsad.

Prometheus (Debian ``prometheus``) scrapes an exporter of ``--series`` gauges every
second and remote-writes them to `tsad serve` on a test-started redis-server;
``--kills`` times, after a few seconds of traffic, tsad gets SIGKILL and is restarted
two seconds later. Then every raw sample in Prometheus's TSDB for those series is
compared with what tsad stored (``GET /v1/series/{id}/points``).

    nice python3 benchmarks/bench_remote_write_kill.py [--series 200] [--kills 3]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.monitoring_peers import http_json, wait_for  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402
from tests.remote_write_peers import Exporter, RemoteWritingPrometheus, TsadProcess  # noqa: E402
from tsad.series import parse_timestamp  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--kills", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(1)
    redis = RedisServer().start()
    exporter = Exporter(extra=args.series)
    with tempfile.TemporaryDirectory(prefix="tsad-rw-kill-") as tmp:
        tsad = TsadProcess(
            Path(tmp),
            TSAD_REDIS_URL=redis.url,
            TSAD_REMOTE_WRITE_MATCH="demo_many",
            TSAD_MIN_POINTS="1000000",  # no model fits: the figure is about delivery
        ).start()
        prom = RemoteWritingPrometheus(f"127.0.0.1:{exporter.port}", f"{tsad.url}/api/v1/write")
        try:
            prom.start("/-/ready")
            started = time.monotonic()
            for _ in range(args.kills):
                time.sleep(rng.uniform(3, 6))
                tsad.kill()
                time.sleep(2)
                tsad.start()
            time.sleep(3)
            window = int(time.monotonic() - started) + 30
            target = f"127.0.0.1:{exporter.port}"
            expected: dict[str, dict[int, float]] = {}
            for row in prom.query(f"demo_many[{window}s]"):
                sid = f"demo_many,i={row['metric']['i']},instance={target},job=demo"
                expected[sid] = {round(float(t) * 1000): float(v) for t, v in row["values"]}

            def stored(sid: str) -> dict[int, float]:
                body = http_json(f"{tsad.url}/v1/series/{sid}/points")
                return {parse_timestamp(p["timestamp"]): p["value"] for p in body["points"]}

            def lost() -> int:
                missing = 0
                for sid, samples in expected.items():
                    got = stored(sid)
                    missing += sum(1 for t, v in samples.items() if got.get(t) != v)
                return missing

            # Prometheus may still be re-sending the last batches
            with contextlib.suppress(AssertionError):
                wait_for(lambda: lost() == 0, 60, "delivery")
            total = sum(len(s) for s in expected.values())
            retried = prom.own_metric("prometheus_remote_storage_samples_retried_total")
            failed = prom.own_metric("prometheus_remote_storage_samples_failed_total")
            print("| series | kills | samples in Prometheus | lost in tsad | retried | failed |")
            print("|---:|---:|---:|---:|---:|---:|")
            print(
                f"| {len(expected)} | {args.kills} | {total:,} | {lost():,} | "
                f"{retried:,.0f} | {failed:,.0f} |"
            )
        finally:
            prom.cleanup()
            tsad.kill()
            exporter.stop()
            redis.cleanup()


if __name__ == "__main__":
    main()
