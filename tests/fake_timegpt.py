"""A fake TimeGPT server on loopback that speaks the protocol the ``nixtla`` SDK
0.9.0 uses (read from the SDK's source), so the ``timegpt`` forecaster can be
tested without the cloud:

* ``GET /model_params?model=&freq=`` → ``{"detail": {"input_size", "horizon"}}``
* ``GET /validate_api_key`` → 200 / 401 with ``{"detail": ...}``
* ``POST /v2/forecast``, ``/v2/anomaly_detection``,
  ``/v2/online_anomaly_detection`` with ``series: {y, sizes, X, start_datetime}``;
  bodies over 1 MiB arrive zstd-compressed (``content-encoding: zstd``)
* ``Authorization: Bearer <key>`` on every request.

Its "model" is a seasonal naive forecast with intervals from the residual spread:
good enough to check plumbing. Knobs for failure tests: ``delay_s`` (a slow
server), ``fail_status`` (answer every model call with that status), and
``echo_key`` (error bodies quote the Authorization header, as a careless server
might, to prove tsad scrubs it).
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import zstandard

SEASON = 24
INPUT_SIZE = 48


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]
    payload: dict[str, Any] | None


@dataclass
class FakeTimeGPT:
    """The server's state; start it with ``serve()``."""

    api_key: str = "fake-key"
    delay_s: float = 0.0
    fail_status: int | None = None
    echo_key: bool = False
    seen: list[Seen] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve(self) -> FakeTimeGPT:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ------------------------------------------------------------------ protocol

    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        url = urlparse(req.path)
        path = url.path.lstrip("/")
        payload: dict[str, Any] | None = None
        if method == "POST":
            raw = req.rfile.read(int(req.headers.get("content-length", "0")))
            if req.headers.get("content-encoding") == "zstd":
                raw = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
            payload = json.loads(raw)
        self.seen.append(Seen(method, path, dict(req.headers.items()), payload))
        auth = req.headers.get("authorization", "")
        if auth != f"Bearer {self.api_key}":
            detail = f"invalid key in {auth!r}" if self.echo_key else "Invalid API key"
            return _send(req, 401, {"detail": detail})
        if path == "validate_api_key":
            return _send(req, 200, {"detail": "API key is valid"})
        if path == "model_params":
            query = parse_qs(url.query)
            assert "freq" in query and "model" in query
            return _send(req, 200, {"detail": {"input_size": INPUT_SIZE, "horizon": SEASON}})
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail_status is not None:
            detail = f"server error while serving {auth}" if self.echo_key else "boom"
            return _send(req, self.fail_status, {"detail": detail})
        assert payload is not None
        answer = {
            "v2/forecast": _forecast,
            "v2/anomaly_detection": _anomaly,
            "v2/online_anomaly_detection": _online,
        }.get(path)
        if answer is None:
            return _send(req, 404, {"detail": f"no route {path}"})
        return _send(req, 200, answer(payload))


def _send(req: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    try:
        req.send_response(status)
        req.send_header("content-type", "application/json")
        req.send_header("content-length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client stopped waiting (the deadline tests do exactly that)


def _series(payload: dict[str, Any]) -> list[np.ndarray]:
    s = payload["series"]
    y = np.asarray(s["y"], np.float64)
    return np.split(y, np.cumsum(s["sizes"])[:-1])


def _z(level: float) -> float:
    # two-sided normal quantile by bisection on erf (no scipy needed in the fake)
    lo, hi = 0.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if math.erf(mid / math.sqrt(2)) < level / 100 else (lo, mid)
    return lo


def _naive(y: np.ndarray, h: int) -> tuple[np.ndarray, float]:
    season = SEASON if y.shape[0] > SEASON else 1
    reps = math.ceil(h / season)
    mean = np.tile(y[-season:], reps)[:h]
    resid = y[season:] - y[:-season]
    return mean, float(np.std(resid)) if resid.size > 1 else 1.0


def _intervals(means: list[np.ndarray], sigmas: list[float], levels: list[float] | None) -> Any:
    if not levels:
        return None
    out: dict[str, list[float]] = {}
    for level in levels:
        key = str(level)
        lo = [m - _z(level) * s for m, s in zip(means, sigmas, strict=True)]
        hi = [m + _z(level) * s for m, s in zip(means, sigmas, strict=True)]
        out[f"lo-{key}"] = np.concatenate(lo).tolist()
        out[f"hi-{key}"] = np.concatenate(hi).tolist()
    return out


def _forecast(payload: dict[str, Any]) -> dict[str, Any]:
    fits = [_naive(y, payload["h"]) for y in _series(payload)]
    means = [m for m, _ in fits]
    return {
        "mean": np.concatenate(means).tolist(),
        "intervals": _intervals(means, [s for _, s in fits], payload.get("level")),
        "weights_x": None,
    }


def _in_sample(y: np.ndarray) -> tuple[np.ndarray, float]:
    """Fitted values for the points after the first INPUT_SIZE: last season's value."""
    fitted = y[INPUT_SIZE - SEASON : -SEASON]
    return fitted, float(np.std(y[INPUT_SIZE:] - fitted))


def _anomaly(payload: dict[str, Any]) -> dict[str, Any]:
    level = payload["level"]
    series = _series(payload)
    fits = [_in_sample(y) for y in series]
    means = [m for m, _ in fits]
    intervals = _intervals(means, [s for _, s in fits], [level])
    tails = np.concatenate([y[INPUT_SIZE:] for y in series])
    lo, hi = np.asarray(intervals[f"lo-{level}"]), np.asarray(intervals[f"hi-{level}"])
    return {
        "mean": np.concatenate(means).tolist(),
        "intervals": intervals,
        "sizes": [len(m) for m in means],
        "anomaly": ((tails < lo) | (tails > hi)).tolist(),
        "weights_x": None,
    }


def _online(payload: dict[str, Any]) -> dict[str, Any]:
    level, size = payload["level"], payload["detection_size"]
    idxs, means, sigmas, ys = [], [], [], []
    offset = 0
    for y in _series(payload):
        n = y.shape[0]
        mean, sigma = _naive(y[: n - size], size)
        idxs.append(offset + np.arange(n - size, n))
        means.append(mean)
        sigmas.append(sigma)
        ys.append(y[n - size :])
        offset += n
    intervals = _intervals(means, sigmas, [level])
    y_all, mean_all = np.concatenate(ys), np.concatenate(means)
    lo, hi = np.asarray(intervals[f"lo-{level}"]), np.asarray(intervals[f"hi-{level}"])
    sigma_all = np.concatenate([np.full(len(m), s) for m, s in zip(means, sigmas, strict=True)])
    return {
        "idxs": np.concatenate(idxs).tolist(),
        "sizes": [size] * len(means),
        "mean": mean_all.tolist(),
        "intervals": intervals,
        "anomaly": ((y_all < lo) | (y_all > hi)).tolist(),
        "anomaly_score": (np.abs(y_all - mean_all) / sigma_all).tolist(),
    }
