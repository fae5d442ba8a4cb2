"""The real ``azure-ai-anomalydetector`` SDK (3.0.0b6), unmodified, against a live
``tsad serve`` with ``TSAD_API_KEYS`` set: entire, last and change-point detection on
NAB series, the key in ``Ocp-Apim-Subscription-Key``, and the service's errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from azure.ai.anomalydetector import AnomalyDetectorClient
from azure.ai.anomalydetector.models import (
    TimeSeriesPoint,
    UnivariateChangePointDetectionOptions,
    UnivariateDetectionOptions,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from tests.conftest import NAB, nab_windows
from tests.integration.azure_helpers import AZURE_KEY as KEY
from tests.integration.azure_helpers import azure_points, nab_azure

JUMPS = "artificialWithAnomaly/art_daily_jumpsup.csv"
TAXI = "realKnownCause/nyc_taxi.csv"

pytestmark = pytest.mark.skipif(not NAB.is_dir(), reason="../shared/data/nab is not beside")


@pytest.fixture(scope="module")
def url(azure_url: str) -> str:
    """The shared live tsad (tests/integration/conftest.py)."""
    return azure_url


@pytest.fixture(scope="module")
def client(url: str) -> AnomalyDetectorClient:
    return AnomalyDetectorClient(url, AzureKeyCredential(KEY), retry_total=0)


def sdk_points(ts: np.ndarray, y: np.ndarray) -> list[TimeSeriesPoint]:
    return [
        TimeSeriesPoint(timestamp=p["timestamp"], value=p["value"]) for p in azure_points(ts, y)
    ]


def test_entire_detect_on_nab_taxi_flags_a_planted_spike(client: AnomalyDetectorClient) -> None:
    """Entire detect (v1.1) on 30-min NYC taxi: one answer per point, the planted spike flagged
    as a positive anomaly with margins around the expected value and a severity in (0, 1]."""
    ts, y = nab_azure(TAXI, 2000)
    y = y.copy()
    at = 1500
    y[at] = y[at] * 3
    options = UnivariateDetectionOptions(
        series=sdk_points(ts, y), granularity="minutely", custom_interval=30
    )
    res = client.detect_univariate_entire_series(options)
    # the SDK's models re-read the JSON on every attribute access: take each list once
    expected, upper, lower = res.expected_values, res.upper_margins, res.lower_margins
    flags, pos, neg, sev = (
        res.is_anomaly,
        res.is_positive_anomaly,
        res.is_negative_anomaly,
        res.severity,
    )
    n = len(y)
    assert len(expected) == len(upper) == len(lower) == len(flags) == len(sev) == n
    assert flags[at] and pos[at] and not neg[at]
    assert 0 < sev[at] <= 1
    assert res.period == 48
    assert min(upper) >= 0 and min(lower) >= 0
    assert all(s == 0 for s, f in zip(sev, flags, strict=True) if not f)
    assert all(p or q for p, q, f in zip(pos, neg, flags, strict=True) if f)
    # the flagged spike lies above expected + margin
    assert y[at] > expected[at] + upper[at]


def test_last_detect_flags_a_spike_in_the_last_point(client: AnomalyDetectorClient) -> None:
    """Last detect: the last point of a NAB window is normal as recorded and an anomaly spiked."""
    ts, y = nab_azure(TAXI, 600)
    calm = client.detect_univariate_last_point(
        UnivariateDetectionOptions(
            series=sdk_points(ts, y), granularity="minutely", custom_interval=30
        )
    )
    spiked_y = y.copy()
    spiked_y[-1] *= 3
    spiked = client.detect_univariate_last_point(
        UnivariateDetectionOptions(
            series=sdk_points(ts, spiked_y), granularity="minutely", custom_interval=30
        )
    )
    assert not calm.is_anomaly
    assert spiked.is_anomaly and spiked.is_positive_anomaly
    assert spiked.suggested_window == 4 * spiked.period + 1
    assert abs(calm.expected_value - y[-1]) <= calm.upper_margin + calm.lower_margin + abs(y[-1])


def test_changepoint_detect_finds_the_nab_jump(client: AnomalyDetectorClient) -> None:
    """Change-point detect on NAB's art_daily_jumpsup: a change point inside the labelled
    window, a confidence for every point, the daily period reported."""
    ts, y = nab_azure(JUMPS)
    res = client.detect_univariate_change_point(
        UnivariateChangePointDetectionOptions(
            series=sdk_points(ts, y), granularity="minutely", custom_interval=5, threshold=0.99
        )
    )
    assert len(res.confidence_scores) == len(res.is_change_point) == len(y)
    assert res.period == 288
    flagged = ts[np.flatnonzero(res.is_change_point)]
    ((start, end),) = nab_windows(JUMPS)
    assert any(start <= t <= end for t in flagged)
    assert all(0 <= c <= 1 for c in res.confidence_scores)


def test_a_wrong_key_is_refused(url: str) -> None:
    """A wrong subscription key: 401, which the SDK raises as ClientAuthenticationError."""
    bad = AnomalyDetectorClient(url, AzureKeyCredential("not-the-key"), retry_total=0)
    ts, y = nab_azure(JUMPS, 100)
    with pytest.raises(ClientAuthenticationError):
        bad.detect_univariate_entire_series(UnivariateDetectionOptions(series=sdk_points(ts, y)))


def _body(ts: np.ndarray, y: np.ndarray, **extra: Any) -> dict[str, Any]:
    return {"series": azure_points(ts, y), "granularity": "minutely", "customInterval": 5, **extra}


def _errors() -> list[tuple[str, str, dict[str, Any]]]:
    ts, y = nab_azure(JUMPS, 100)
    gap_ts = np.r_[ts[:12], ts[12] + 300_000 * 40_000]
    gap_y = np.r_[y[:12], y[12]]
    shuffled = ts.copy()
    shuffled[[3, 4]] = shuffled[[4, 3]]
    dup = ts.copy()
    dup[5] = dup[4]
    off = ts.copy()
    off[7] += 60_000
    return [
        ("too few points", "InvalidSeries", _body(ts[:11], y[:11])),
        ("too many points", "InvalidSeries", _body(*nab_azure(TAXI, 8641))),
        ("bad granularity", "InvalidGranularity", _body(ts, y, granularity="fortnightly")),
        ("unsorted", "InvalidSeries", _body(shuffled, y)),
        ("duplicate timestamps", "InvalidSeries", _body(dup, y)),
        ("off the grid", "InvalidSeries", _body(off, y)),
        ("too many missing points", "InvalidSeries", _body(gap_ts, gap_y)),
        ("sensitivity", "InvalidModelArgument", _body(ts, y, sensitivity=120)),
        ("maxAnomalyRatio", "InvalidModelArgument", _body(ts, y, maxAnomalyRatio=0.6)),
        ("customInterval", "InvalidCustomInterval", _body(ts, y, customInterval=0)),
        ("period", "InvalidPeriod", _body(ts, y, period=-1)),
        ("imputeMode", "InvalidImputeMode", _body(ts, y, imputeMode="spline")),
        ("imputeFixedValue", "InvalidImputeFixedValue", _body(ts, y, imputeMode="fixed")),
        ("no series", "RequiredSeries", {"granularity": "hourly"}),
    ]


@pytest.mark.parametrize(("case", "code", "body"), _errors(), ids=[e[0] for e in _errors()])
def test_each_documented_error_reaches_the_sdk(
    client: AnomalyDetectorClient, case: str, code: str, body: dict[str, Any]
) -> None:
    """Each refusal is a 400 with the service's code in the body and in x-ms-error-code."""
    with pytest.raises(HttpResponseError) as caught:
        client.detect_univariate_entire_series(body)
    err = caught.value
    assert err.status_code == 400, case
    assert err.response.headers["x-ms-error-code"] == code
    assert err.error is not None and err.error.code == code
    assert err.message


def test_changepoint_errors_reach_the_sdk(client: AnomalyDetectorClient) -> None:
    """Change point: no granularity → RequiredGranularity; threshold 1.5 → InvalidModelArgument."""
    ts, y = nab_azure(JUMPS, 100)
    cases = [
        ({"series": azure_points(ts, y)}, "RequiredGranularity"),
        (_body(ts, y, threshold=1.5), "InvalidModelArgument"),
        (_body(ts, y, stableTrendWindow=80), "InvalidModelArgument"),
    ]
    for body, code in cases:
        with pytest.raises(HttpResponseError) as caught:
            client.detect_univariate_change_point(body)
        assert caught.value.status_code == 400
        assert caught.value.response.headers["x-ms-error-code"] == code
