"""The real ``nixtla`` SDK, unmodified, against tsad's TimeGPT-compatible routes:
``create_app`` served by uvicorn on loopback (a real HTTP server, not a test client)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import msgspec
import numpy as np
import pandas as pd
import pytest
import uvicorn
import zstandard

from tsad.api.app import create_app
from tsad.models.timegpt_sdk import import_nixtla
from tsad.settings import ApiSettings, ModelSettings, Settings

KEY = "tsad-test-key"
N = 24 * 14
SPIKE_SERIES, SPIKE_AT = "s1", 300


@dataclass
class Served:
    url: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(settings: Settings) -> Iterator[Served]:
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def tsad_open() -> Iterator[Served]:
    """tsad with auth off and models in a thread."""
    yield from _serve(Settings(models=ModelSettings(runner="thread")))


@pytest.fixture(scope="module")
def tsad_keyed() -> Iterator[Served]:
    """tsad with TSAD_API_KEYS set and the default process runner."""
    yield from _serve(Settings(api=ApiSettings(api_keys=(KEY, "other-key"))))


def client(url: str, key: str = KEY):  # type: ignore[no-untyped-def]
    nixtla = import_nixtla()
    return nixtla.NixtlaClient(api_key=key, base_url=url, max_retries=1)


def frame(n_series: int = 3, n: int = N, spike: bool = True) -> pd.DataFrame:
    """Hourly daily-seasonal series; ``s1`` has a +8 spike (80 noise sigmas) at SPIKE_AT."""
    parts = []
    for i in range(n_series):
        t = np.arange(n)
        y = 10 + i + np.sin(2 * np.pi * t / 24) + np.random.default_rng(i).normal(0, 0.1, n)
        if spike and f"s{i}" == SPIKE_SERIES:
            y[SPIKE_AT] += 8
        ds = pd.date_range("2024-01-01", periods=n, freq="h")
        parts.append(pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": y}))
    return pd.concat(parts, ignore_index=True)


def spike_ds() -> pd.Timestamp:
    return pd.Timestamp("2024-01-01") + pd.Timedelta(hours=SPIKE_AT)


def test_forecast_with_levels_on_several_series(tsad_open: Served) -> None:
    """forecast() answers h rows per series with nested TimeGPT-lo/hi columns around the signal."""
    out = client(tsad_open.url).forecast(frame(spike=False), h=24, level=[80, 95])
    assert list(out.columns) == [
        "unique_id", "ds", "TimeGPT", "TimeGPT-hi-80", "TimeGPT-hi-95",
        "TimeGPT-lo-80", "TimeGPT-lo-95",
    ]  # fmt: skip
    assert out.groupby("unique_id").size().to_dict() == {"s0": 24, "s1": 24, "s2": 24}
    assert out["ds"].min() == pd.Timestamp("2024-01-15") and out.notna().all().all()
    assert (out["TimeGPT-lo-95"] <= out["TimeGPT-lo-80"]).all()
    assert (out["TimeGPT-lo-80"] < out["TimeGPT"]).all()
    assert (out["TimeGPT"] < out["TimeGPT-hi-80"]).all()
    assert (out["TimeGPT-hi-80"] <= out["TimeGPT-hi-95"]).all()
    # each series' forecast follows its own level and the daily sine
    for i in range(3):
        got = out.loc[out.unique_id == f"s{i}", "TimeGPT"].to_numpy()
        want = 10 + i + np.sin(2 * np.pi * np.arange(N, N + 24) / 24)
        assert np.abs(got - want).max() < 0.5


def test_forecast_without_levels_and_with_history(tsad_open: Served) -> None:
    """No level → no interval columns; add_history prepends in-sample fitted rows."""
    df = frame(2)
    plain = client(tsad_open.url).forecast(df, h=6)
    assert list(plain.columns) == ["unique_id", "ds", "TimeGPT"] and len(plain) == 12
    hist = client(tsad_open.url).forecast(df, h=6, add_history=True, level=[90])
    assert list(hist.columns) == ["unique_id", "ds", "TimeGPT", "TimeGPT-hi-90", "TimeGPT-lo-90"]
    assert len(hist) > 2 * (N // 2) and hist["ds"].min() < pd.Timestamp("2024-01-08")
    assert hist.notna().all().all()


def test_detect_anomalies_flags_the_planted_spike(tsad_open: Served) -> None:
    """detect_anomalies() (in-sample) flags the spike and few other points; past the
    warm-up (two seasons, when no flag is raised) unflagged points lie in the band."""
    with pytest.warns(FutureWarning, match="detect_anomalies"):
        out = client(tsad_open.url).detect_anomalies(frame(), level=99)
    assert list(out.columns) == [
        "unique_id", "ds", "y", "TimeGPT", "TimeGPT-hi-99", "TimeGPT-lo-99", "anomaly",
    ]  # fmt: skip
    flagged = out[out.anomaly]
    assert ((flagged.unique_id == SPIKE_SERIES) & (flagged.ds == spike_ds())).any()
    assert out.anomaly.mean() < 0.03
    inside = out[~out.anomaly & (out.ds >= pd.Timestamp("2024-01-03"))]
    assert ((inside.y >= inside["TimeGPT-lo-99"]) & (inside.y <= inside["TimeGPT-hi-99"])).all()


def test_detect_anomalies_online_flags_the_planted_spike(tsad_open: Served) -> None:
    """detect_anomalies_online() scores the last detection_size points of each series."""
    with pytest.warns(FutureWarning, match="detect_anomalies_online"):
        out = client(tsad_open.url).detect_anomalies_online(
            frame(), h=12, detection_size=48, level=99
        )
    assert set(out.columns) == {
        "unique_id", "ds", "y", "TimeGPT", "anomaly", "anomaly_score",
        "TimeGPT-hi-99", "TimeGPT-lo-99",
    }  # fmt: skip
    assert out.groupby("unique_id").size().to_dict() == {"s0": 48, "s1": 48, "s2": 48}
    assert out["ds"].min() == pd.Timestamp("2024-01-01") + pd.Timedelta(hours=N - 48)
    spike = out[(out.unique_id == SPIKE_SERIES) & (out.ds == spike_ds())]
    # tsad's score (one meaning on every path): the 80-sigma spike is flagged, near 1
    # and the highest of its series
    same = out[out.unique_id == SPIKE_SERIES]
    assert spike.anomaly.item() and spike.anomaly_score.item() > 0.99
    assert spike.anomaly_score.item() == same.anomaly_score.max()
    assert out.anomaly_score.between(0, 1).all() and out.anomaly.mean() < 0.1


def test_anomaly_scores_are_tsads_score_on_every_path(tsad_open: Served) -> None:
    """/v2/anomaly_detection answers the same score and flags as /v1/detect (batch) and
    /v2/online_anomaly_detection the same as /v1/detect mode=online, for one series."""
    df = frame(2)
    y = df.loc[df.unique_id == SPIKE_SERIES, "y"].tolist()
    points = [[3600 * i, v] for i, v in enumerate(y)]
    series = {"y": y, "sizes": [len(y)]}
    v2 = httpx.post(
        f"{tsad_open.url}/v2/anomaly_detection", json={"series": series, "level": 99}, timeout=60
    ).json()
    v1 = httpx.post(
        f"{tsad_open.url}/v1/detect", json={"points": points, "level": 99}, timeout=60
    ).json()["points"]
    assert v2["anomaly_score"] == pytest.approx([p["score"] for p in v1])
    assert v2["anomaly"] == [p["is_anomaly"] for p in v1] and any(v2["anomaly"])
    body = {"series": series, "level": 99, "h": 12, "detection_size": 48}
    online = httpx.post(
        f"{tsad_open.url}/v2/online_anomaly_detection", json=body, timeout=60
    ).json()
    v1_online = httpx.post(
        f"{tsad_open.url}/v1/detect",
        json={"points": points, "level": 99, "mode": "online"},
        timeout=60,
    ).json()["points"][-48:]
    assert online["anomaly_score"] == pytest.approx([p["score"] for p in v1_online])
    assert online["anomaly"] == [p["is_anomaly"] for p in v1_online]


def test_cross_validation_windows_and_cutoffs(tsad_open: Served) -> None:
    """cross_validation() answers n_windows·h rows per series, each after its cutoff."""
    out = client(tsad_open.url).cross_validation(frame(2), h=12, n_windows=3, level=[90])
    assert list(out.columns) == [
        "unique_id", "ds", "cutoff", "y", "TimeGPT", "TimeGPT-hi-90", "TimeGPT-lo-90",
    ]  # fmt: skip
    assert out.groupby("unique_id").size().to_dict() == {"s0": 36, "s1": 36}
    last = pd.Timestamp("2024-01-01") + pd.Timedelta(hours=N - 1)
    assert sorted(out.cutoff.unique()) == [last - pd.Timedelta(hours=12 * k) for k in (3, 2, 1)]
    assert (out.ds > out.cutoff).all() and (out.ds - out.cutoff <= pd.Timedelta(hours=12)).all()
    s0 = out[out.unique_id == "s0"]
    assert np.abs(s0.TimeGPT - s0.y).mean() < 0.3


def test_zstd_compressed_bodies_are_accepted(tsad_open: Served) -> None:
    """A zstd body (what the SDK sends over 1 MiB) gets the same answer as plain JSON."""
    y = (10 + np.sin(2 * np.pi * np.arange(96) / 24)).tolist()
    payload = msgspec.json.encode(
        {"series": {"y": y, "sizes": [96], "X": None}, "h": 4, "freq": "h", "level": [80]}
    )
    url = f"{tsad_open.url}/v2/forecast"
    plain = httpx.post(url, content=payload, headers={"content-type": "application/json"})
    packed = httpx.post(
        url,
        content=zstandard.ZstdCompressor(level=1).compress(payload),
        headers={"content-type": "application/json", "content-encoding": "zstd"},
    )
    assert plain.status_code == packed.status_code == 200
    assert packed.json() == plain.json() and len(packed.json()["mean"]) == 4
    bad = httpx.post(url, content=b"not zstd", headers={"content-encoding": "zstd"})
    assert bad.status_code == 400 and "zstd" in bad.json()["detail"]


def test_model_names_map_to_local_models(tsad_open: Served) -> None:
    """TimeGPT model names run tsad's auto model; tsad names are honoured."""
    y = (10 + np.sin(2 * np.pi * np.arange(96) / 24)).tolist()
    for model in ("timegpt-2.1", "timegpt-1-long-horizon", "stats"):
        body = {"series": {"y": y, "sizes": [96]}, "h": 4, "freq": "h", "model": model}
        r = httpx.post(f"{tsad_open.url}/v2/forecast", json=body)
        assert r.status_code == 200 and r.headers["tsad-model-used"].startswith("stats:")
        assert r.headers["tsad-degraded"] == "false"
    params = httpx.get(f"{tsad_open.url}/model_params", params={"model": "x", "freq": "h"})
    assert params.json() == {"detail": {"input_size": 168, "horizon": 24}}


def test_bad_series_answer_422_with_a_detail(tsad_open: Served) -> None:
    """A series too short for the model is the caller's fault: 422 with a readable detail."""
    nixtla = import_nixtla()
    short = frame(1, n=40).head(5)
    with pytest.raises(nixtla.ApiError) as err:
        client(tsad_open.url).forecast(short, h=3)
    assert err.value.status_code == 422
    assert "at least" in err.value.body["detail"]


def test_bearer_keys_are_enforced_when_configured(tsad_keyed: Served) -> None:
    """With TSAD_API_KEYS set: a listed key works (through the process runner), others get 401."""
    nixtla = import_nixtla()
    assert client(tsad_keyed.url, KEY).validate_api_key(log=False)
    assert client(tsad_keyed.url, "other-key").validate_api_key(log=False)
    assert not client(tsad_keyed.url, "wrong").validate_api_key(log=False)
    with pytest.raises(nixtla.ApiError) as err:
        client(tsad_keyed.url, "wrong").forecast(frame(1), h=4)
    assert err.value.status_code == 401
    out = client(tsad_keyed.url, KEY).forecast(frame(1), h=4, level=[80])
    assert len(out) == 4 and out.notna().all().all()
