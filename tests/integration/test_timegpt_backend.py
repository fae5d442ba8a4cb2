"""The ``timegpt`` forecaster (the real nixtla SDK) against a fake TimeGPT server on
loopback: band mapping, the deadline, API errors, secrets and logging."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import pytest

from tests.fake_timegpt import INPUT_SIZE, FakeTimeGPT
from tsad.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from tsad.jobs import forecast_job
from tsad.models.timegpt import TimeGPTForecaster
from tsad.series import Series
from tsad.settings import ModelSettings

KEY = "nixtla-secret-0123456789"
HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


@pytest.fixture
def fake() -> Iterator[FakeTimeGPT]:
    server = FakeTimeGPT(api_key=KEY).serve()
    yield server
    server.close()


def settings(url: str, key: str | None = KEY, deadline_s: float = 5.0) -> ModelSettings:
    return ModelSettings(timegpt_api_key=key, timegpt_base_url=url, timegpt_deadline_s=deadline_s)


def history(n: int = 240, spike_at: int | None = None) -> Series:
    t = np.arange(n)
    y = 10 + np.sin(2 * np.pi * t / 24) + np.random.default_rng(0).normal(0, 0.1, n)
    if spike_at is not None:
        y[spike_at] += 5
    return Series((T0 + t * HOUR).astype(np.int64), y)


def refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def assert_no_key(exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    texts = [str(exc), repr(exc), repr(getattr(exc, "extra", "")), caplog.text]
    assert exc.__cause__ is None and exc.__suppress_context__
    assert all(KEY not in text for text in texts)


def test_forecast_maps_the_answer_onto_a_band(fake: FakeTimeGPT) -> None:
    """forecast() sends the series with Bearer auth and maps mean/lo/hi per level."""
    hist = history()
    fc = TimeGPTForecaster(settings(fake.url)).forecast(hist, HOUR, 24, [80.0, 95.0])
    assert fc.model_used == "timegpt" and not fc.degraded
    assert np.array_equal(fc.band.ts, hist.ts[-1] + HOUR * np.arange(1, 25))
    assert fc.band.levels == [80.0, 95.0]
    # the fake forecasts seasonal naive: the last day again
    assert np.allclose(fc.band.mean, hist.y[-24:].astype(np.float32), atol=1e-5)
    assert np.all(fc.band.lo[95.0] < fc.band.lo[80.0]) and np.all(fc.band.lo[80.0] < fc.band.mean)
    assert np.all(fc.band.hi[95.0] > fc.band.hi[80.0]) and np.all(fc.band.hi[80.0] > fc.band.mean)
    post = next(s for s in fake.seen if s.path == "v2/forecast")
    assert post.headers["Authorization"] == f"Bearer {KEY}"
    assert post.payload is not None and post.payload["freq"] == "h"
    assert post.payload["level"] == [80, 95] and post.payload["h"] == 24


def test_insample_leaves_the_unfitted_context_as_nan(fake: FakeTimeGPT) -> None:
    """insample() maps detect_anomalies' rows by timestamp; the first context window is NaN."""
    hist = history()
    fc = TimeGPTForecaster(settings(fake.url)).insample(hist, HOUR, [95.0, 99.0])
    assert np.array_equal(fc.band.ts, hist.ts)
    assert np.isnan(fc.band.mean[:INPUT_SIZE]).all()
    assert np.isfinite(fc.band.mean[INPUT_SIZE:]).all()
    tail = slice(INPUT_SIZE, None)
    assert np.all(fc.band.lo[99.0][tail] < fc.band.lo[95.0][tail])
    assert np.all(fc.band.hi[99.0][tail] > fc.band.hi[95.0][tail])
    calls = [s.payload for s in fake.seen if s.path == "v2/anomaly_detection"]
    assert [c["level"] for c in calls if c is not None] == [95, 99]


def test_detect_online_flags_a_spike(fake: FakeTimeGPT) -> None:
    """detect_online() scores the detection window with tsad's scorer; the spike is flagged."""
    hist = history(spike_at=230)
    scored = TimeGPTForecaster(settings(fake.url)).detect_online(hist, HOUR, 24, 24, 99.0)
    assert np.array_equal(scored.ts, hist.ts[-24:])
    assert scored.is_anomaly[230 - 216] and scored.direction[230 - 216] == 1
    assert scored.is_anomaly.sum() <= 2 and scored.score.max() <= 1.0


def test_large_bodies_go_zstd_compressed(fake: FakeTimeGPT) -> None:
    """Histories over 1 MiB of JSON reach the server zstd-compressed and still work."""
    hist = history(n=150_000)
    fc = TimeGPTForecaster(settings(fake.url, deadline_s=60)).insample(hist, HOUR, [99.0])
    post = [s for s in fake.seen if s.path == "v2/anomaly_detection"][-1]
    assert post.headers.get("content-encoding") == "zstd"
    assert np.isfinite(fc.band.mean[INPUT_SIZE:]).all()


def test_slow_server_hits_the_deadline_and_the_job_falls_back(fake: FakeTimeGPT) -> None:
    """A server slower than TSAD_TIMEGPT_DEADLINE_S: UpstreamTimeout, then stats, degraded."""
    fake.delay_s = 10.0
    s = settings(fake.url, deadline_s=0.5)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match=r"did not answer within 0\.5 s"):
        TimeGPTForecaster(s).forecast(history(), HOUR, 24, [80.0])
    # it stopped waiting long before the server would have answered
    assert time.monotonic() - started < fake.delay_s / 2
    hist = history()
    started = time.monotonic()
    out = forecast_job(s, "timegpt", hist.ts, hist.y, None, 24, [80.0])
    assert time.monotonic() - started < fake.delay_s / 2
    assert out.report.degraded and out.report.model_used.startswith("stats")
    assert out.report.reason is not None and "within 0.5 s" in out.report.reason
    assert len(out.band) == 24 and np.isfinite(out.band.mean).all()


def test_401_names_the_setting_and_never_the_key(
    fake: FakeTimeGPT, caplog: pytest.LogCaptureFixture
) -> None:
    """A rejected key → UpstreamError pointing at NIXTLA_API_KEY; the key appears nowhere."""
    caplog.set_level(logging.DEBUG)
    fake.api_key, fake.echo_key = "the-right-key", True
    with pytest.raises(UpstreamError, match="NIXTLA_API_KEY") as err:
        TimeGPTForecaster(settings(fake.url)).forecast(history(), HOUR, 24, [80.0])
    assert err.value.extra["upstream_status"] == 401 and type(err.value) is UpstreamError
    assert_no_key(err.value, caplog)
    hist = history()
    out = forecast_job(settings(fake.url), "timegpt", hist.ts, hist.y, None, 6, [80.0])
    assert out.report.degraded and KEY not in (out.report.reason or "")


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_reported_with_secrets_scrubbed(
    fake: FakeTimeGPT, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    """5xx → UpstreamError with the status; a body quoting the key (and the SDK's retry
    log of it, for the retried 503) is scrubbed."""
    caplog.set_level(logging.DEBUG)
    fake.fail_status, fake.echo_key = status, True
    with pytest.raises(UpstreamError, match=f"HTTP {status}") as err:
        TimeGPTForecaster(settings(fake.url, deadline_s=2)).forecast(history(), HOUR, 6, [80.0])
    assert "Bearer ***" in str(err.value)
    assert_no_key(err.value, caplog)
    attempts = [s for s in fake.seen if s.path == "v2/forecast"]
    assert len(attempts) == (2 if status == 503 else 1)  # the SDK retries 503, not 500


def test_connection_refused_is_unavailable_and_falls_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing listening → UpstreamUnavailable at once; the job answers with stats."""
    caplog.set_level(logging.DEBUG)
    url = refused_url()
    with pytest.raises(UpstreamUnavailable, match="cannot reach TimeGPT") as err:
        TimeGPTForecaster(settings(url, deadline_s=2)).forecast(history(), HOUR, 6, [80.0])
    assert_no_key(err.value, caplog)
    hist = history()
    out = forecast_job(settings(url, deadline_s=2), "timegpt", hist.ts, hist.y, None, 6, [80.0])
    assert out.report.degraded and out.report.model_used.startswith("stats")


def test_missing_key_fails_without_calling_out() -> None:
    """No NIXTLA_API_KEY: a clear UpstreamError, no request made."""
    with pytest.raises(UpstreamError, match="set NIXTLA_API_KEY"):
        TimeGPTForecaster(settings(refused_url(), key=None)).forecast(history(), HOUR, 6, [80.0])


_LOGGING_PROBE = """
import json, logging, sys
mode = sys.argv[1]
root = logging.getLogger()
if mode == "configured":
    logging.basicConfig(level=logging.DEBUG, format="tsad %(message)s")
before = [root.level, [type(h).__name__ for h in root.handlers], logging.getLogger("httpx").level]
import tsad, tsad.models.timegpt
assert "nixtla" not in sys.modules, "import tsad must not import nixtla"
from tsad.models.timegpt_sdk import import_nixtla
import_nixtla()
after = [root.level, [type(h).__name__ for h in root.handlers], logging.getLogger("httpx").level]
print(json.dumps({"before": before, "after": after, "sdk": "nixtla" in sys.modules}))
"""


@pytest.mark.parametrize("mode", ["bare", "configured"])
def test_importing_the_sdk_leaves_logging_alone(mode: str) -> None:
    """``import nixtla`` (basicConfig INFO, httpx level) leaves the root logger as it was."""
    done = subprocess.run(
        [sys.executable, "-c", _LOGGING_PROBE, mode], capture_output=True, text=True, check=True
    )
    seen = json.loads(done.stdout)
    assert seen["sdk"] and seen["before"] == seen["after"]
