"""The real ``azure-ai-anomalydetector`` SDK's multivariate client against a live
``tsad serve``: train on a tsad group, list/get/delete models, detect-last and the
asynchronous detect-batch, with top contributors in Azure's shape."""

from __future__ import annotations

import time
from typing import Any

import httpx
import numpy as np
import pytest
from azure.ai.anomalydetector import AnomalyDetectorClient
from azure.ai.anomalydetector.models import (
    ModelInfo,
    MultivariateBatchDetectionOptions,
    MultivariateLastDetectionOptions,
    VariableValues,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.integration.azure_helpers import AZURE_KEY as KEY
from tsad.series import format_ts

T0 = 1_700_000_000_000
STEP = 60_000
N = 300
NAMES = ("cpu", "latency", "errors")


def group_values(n: int, seed: int, fault: slice | None = None) -> np.ndarray:
    """Three correlated metrics; inside ``fault`` latency leaves its relation to cpu."""
    rng = np.random.default_rng(seed)
    cpu = 50 + 10 * np.sin(np.arange(n) / 20) + rng.normal(0, 1, n)
    lat = 2 * cpu + rng.normal(0, 1, n)
    err = 0.1 * cpu + rng.normal(0, 0.2, n)
    if fault is not None:
        lat[fault] += 40
    return np.column_stack([cpu, lat, err])


@pytest.fixture(scope="module")
def client(azure_url: str) -> AnomalyDetectorClient:
    return AnomalyDetectorClient(azure_url, AzureKeyCredential(KEY), retry_total=0)


@pytest.fixture(scope="module")
def group(azure_url: str) -> str:
    """A tsad group ``mvhost`` with N normal rows, posted over tsad's own API."""
    values = group_values(N, 1)
    headers = {"Ocp-Apim-Subscription-Key": KEY}
    with httpx.Client(base_url=azure_url, headers=headers, timeout=60) as http:
        for j, sid in enumerate(NAMES):
            pts = [[(T0 + i * STEP) / 1000, float(values[i, j])] for i in range(N)]
            r = http.post(f"/v1/series/mv.{sid}/points", json={"points": pts})
            assert r.status_code == 200, r.text
        r = http.post("/v1/groups", json={"name": "mvhost", "series": [f"mv.{s}" for s in NAMES]})
        assert r.status_code == 201, r.text
    return "mvhost"


def variables(values: np.ndarray, start: int) -> list[VariableValues]:
    stamps = [format_ts(T0 + (start + i) * STEP) for i in range(values.shape[0])]
    return [
        VariableValues(variable=f"mv.{s}", timestamps=stamps, values=values[:, j].tolist())
        for j, s in enumerate(NAMES)
    ]


def test_train_list_get_delete(client: AnomalyDetectorClient, group: str) -> None:
    """Training on a tsad group answers a READY model with one state per variable; it is
    listed and fetched by id, and after delete a get is a 404."""
    model = client.train_multivariate_model(
        ModelInfo(
            data_source=f"tsad://groups/{group}",
            start_time=format_ts(T0),
            end_time=format_ts(T0 + (N - 1) * STEP),
            sliding_window=30,
            display_name="mv",
        )
    )
    info = model.model_info
    assert info.status == "READY"
    assert sorted(v.variable for v in info.diagnostics_info.variable_states) == sorted(
        f"mv.{s}" for s in NAMES
    )
    assert model.model_id in [m.model_id for m in client.list_multivariate_models()]
    assert client.get_multivariate_model(model.model_id).model_id == model.model_id
    client.delete_multivariate_model(model.model_id)
    with pytest.raises(ResourceNotFoundError):
        client.get_multivariate_model(model.model_id)


def _train(client: AnomalyDetectorClient, group: str) -> str:
    model = client.train_multivariate_model(
        ModelInfo(
            data_source=f"tsad://groups/{group}",
            start_time=format_ts(T0),
            end_time=format_ts(T0 + (N - 1) * STEP),
            sliding_window=30,
        )
    )
    return str(model.model_id)


def test_detect_last_flags_a_broken_relation_with_its_contributor(
    client: AnomalyDetectorClient, group: str
) -> None:
    """detect-last on rows whose last minutes break latency's relation to cpu: the last
    row is an anomaly, score and severity in (0, 1], latency among the top two; the same
    rows without the fault are normal."""
    model_id = _train(client, group)
    faulty = group_values(120, 7, fault=slice(60, 120))
    res = client.detect_multivariate_last_anomaly(
        model_id,
        MultivariateLastDetectionOptions(variables=variables(faulty, N), top_contributor_count=2),
    )
    last: Any = res.results[-1].value
    assert last.is_anomaly
    assert 0 < last.score <= 1 and 0 < last.severity <= 1
    interp = last.interpretation
    assert len(interp) == 2 and "mv.latency" in {i.variable for i in interp}
    assert all(0 < i.contribution_score <= 1 for i in interp)
    clean = group_values(120, 7)
    res = client.detect_multivariate_last_anomaly(
        model_id,
        MultivariateLastDetectionOptions(variables=variables(clean, N), top_contributor_count=2),
    )
    assert not res.results[-1].value.is_anomaly


def test_detect_batch_is_asynchronous_and_ready_later(
    client: AnomalyDetectorClient, group: str
) -> None:
    """detect-batch answers 202 with a result id; polling the result reaches READY with one
    state per row of the range."""
    model_id = _train(client, group)
    res = client.detect_multivariate_batch_anomaly(
        model_id,
        MultivariateBatchDetectionOptions(
            data_source=f"tsad://groups/{group}",
            top_contributor_count=3,
            start_time=format_ts(T0),
            end_time=format_ts(T0 + (N - 1) * STEP),
        ),
    )
    result_id = res.result_id
    for _ in range(100):
        out = client.get_multivariate_batch_detection_result(result_id)
        if out.summary.status in ("READY", "FAILED"):
            break
        time.sleep(0.1)
    assert out.summary.status == "READY"
    assert len(out.results) == N
    assert all(0 <= r.value.score <= 1 for r in out.results)


def test_unknown_model_and_forbidden_source(client: AnomalyDetectorClient) -> None:
    """An unknown model id is a 404; a data source outside groups and allowed paths is a
    400 in Azure's error shape (never a file read)."""
    with pytest.raises(ResourceNotFoundError):
        client.get_multivariate_model("no-such-model")
    with pytest.raises(HttpResponseError) as err:
        client.train_multivariate_model(
            ModelInfo(data_source="/etc/passwd", start_time=format_ts(T0), end_time=format_ts(T0))
        )
    assert err.value.status_code == 400
