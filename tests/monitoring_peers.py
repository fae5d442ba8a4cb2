"""Real monitoring peers for integration tests: tsad served by uvicorn, Alertmanager, Prometheus.

Each is started by the test on a free loopback port with a generated config in a
temp dir, and stopped (and its dir removed) afterwards. Never touches a process
it did not start. Alertmanager and Prometheus come from the Debian packages
``prometheus-alertmanager`` and ``prometheus``; tests skip loudly without them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from tests.redis_server import free_port

ALERTMANAGER = shutil.which("prometheus-alertmanager")
PROMETHEUS = shutil.which("prometheus")
T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout_s: float = 20.0, what: str = "it") -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # not up yet: connection refused, 503...
            last_error = exc
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} ({last_error})")


def http_json(url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    """GET (or POST ``body`` as JSON) and decode the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    with urllib.request.urlopen(req, timeout=5) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


class TsadServer:
    """A tsad app served by uvicorn on loopback, in a thread of this process."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="tsad-uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TsadServer:
        self.thread.start()
        wait_for(lambda: self.server.started, 20, "uvicorn to start")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class _Process:
    """A peer binary run in its own temp dir, logs kept for failure messages."""

    name = "peer"

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix=f"tsad-{self.name}-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        raise NotImplementedError

    def log(self) -> str:
        path = self.dir / "out.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def start(self, ready_path: str) -> None:
        out = (self.dir / "out.log").open("wb")
        self.proc = subprocess.Popen(self.argv(), stdout=out, stderr=subprocess.STDOUT)

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log()}")
            with urllib.request.urlopen(self.url + ready_path, timeout=2) as resp:
                return bool(resp.status == 200)

        try:
            wait_for(ready, 30, f"{self.name} to be ready")
        except BaseException:
            self.cleanup()
            raise

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class AlertmanagerServer(_Process):
    """``prometheus-alertmanager`` routing every alert to one webhook, with no waiting."""

    name = "alertmanager"

    def __init__(self, webhook_url: str, bearer: str | None = None) -> None:
        super().__init__()
        auth = (
            f"\n        http_config:\n          authorization:\n            credentials: {bearer}"
            if bearer
            else ""
        )
        (self.dir / "alertmanager.yml").write_text(
            f"""
route:
  receiver: tsad
  group_by: ['alertname']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: tsad
    webhook_configs:
      - url: {webhook_url}
        send_resolved: true{auth}
"""
        )

    def argv(self) -> list[str]:
        assert ALERTMANAGER is not None
        return [
            ALERTMANAGER,
            f"--config.file={self.dir / 'alertmanager.yml'}",
            f"--storage.path={self.dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",  # a single instance: no gossip port
            "--log.level=warn",
        ]

    def alerts(self, **params: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode(params)
        result: list[dict[str, Any]] = http_json(f"{self.url}/api/v2/alerts?{query}")
        return result


class PrometheusServer(_Process):
    """``prometheus`` scraping one target every second."""

    name = "prometheus"

    def __init__(self, target: str) -> None:
        super().__init__()
        (self.dir / "prometheus.yml").write_text(
            f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tsad
    metrics_path: /metrics
    static_configs:
      - targets: ['{target}']
"""
        )

    def argv(self) -> list[str]:
        assert PROMETHEUS is not None
        return [
            PROMETHEUS,
            f"--config.file={self.dir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]

    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        body = http_json(url)
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result
