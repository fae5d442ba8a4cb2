"""Peers for the remote-write tests: a tiny exporter, a killable `tsad serve` process,
and a Prometheus that scrapes the exporter and remote-writes to tsad."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.integration.cli_helpers import fresh_data_dir
from tests.monitoring_peers import PrometheusServer, http_json, wait_for
from tests.redis_server import free_port


class Exporter:
    """Serves ``demo_value{kind="gauge"} N`` at /metrics, N counting the scrapes, so
    every scraped sample has a value of its own (and ``extra`` more series
    ``demo_many{i="k"}`` with the same value, for load)."""

    def __init__(self, extra: int = 0) -> None:
        self.scrapes = 0
        exporter = self
        many = "".join(f'demo_many{{i="{k}"}} {{n}}\n' for k in range(extra))

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                exporter.scrapes += 1
                body = (
                    "# TYPE demo_value gauge\n"
                    f'demo_value{{kind="gauge"}} {exporter.scrapes}\n'
                    "# TYPE demo_ignored gauge\ndemo_ignored 1\n"
                    + many.replace("{n}", str(exporter.scrapes))
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "text/plain; version=0.0.4")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class TsadProcess:
    """`python -m tsad serve` on a fixed free port; ``kill()`` is SIGKILL, ``start()``
    starts it again on the same port."""

    def __init__(self, log_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TSAD_")}
        self.env["TSAD_DATA_DIR"] = fresh_data_dir()  # never the user's store
        self.env.update(TSAD_RUNNER="thread", **env)
        self.log = log_dir / "tsad.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TsadProcess:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tsad",
                "serve",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()

        def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
            return http_json(self.url + "/ready")["status"] == "ready"

        wait_for(ready, 60, "tsad serve to be ready")
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=20)


class RemoteWritingPrometheus(PrometheusServer):
    """Prometheus scraping ``target`` every second and remote-writing to ``write_url``
    with short batch deadlines and backoffs, so a test sees retries within seconds."""

    def __init__(self, target: str, write_url: str) -> None:
        super().__init__(target)
        (self.dir / "prometheus.yml").write_text(
            f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: demo
    static_configs:
      - targets: ['{target}']
remote_write:
  - url: {write_url}
    queue_config:
      batch_send_deadline: 500ms
      min_backoff: 100ms
      max_backoff: 1s
"""
        )

    def raw_samples(self, selector: str, window_s: int = 600) -> dict[int, float]:
        """Every sample Prometheus stored for ``selector`` (one series): ms → value."""
        (series,) = self.query(f"{selector}[{window_s}s]")
        return {round(float(t) * 1000): float(v) for t, v in series["values"]}

    def own_metric(self, name: str) -> float:
        """One of Prometheus's own metrics from its /metrics (summed over labels)."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as resp:
            text = resp.read().decode()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith((name + "{", name + " "))
        )
