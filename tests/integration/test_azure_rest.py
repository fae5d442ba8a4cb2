"""Plain REST clients of Azure Anomaly Detector v1.0 (and bearer-key clients) against a
live ``tsad serve``; and tsad's own change points over HTTP and from the CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import NAB, nab_windows
from tests.integration.azure_helpers import AZURE_KEY as KEY
from tests.integration.azure_helpers import azure_points, nab_azure
from tests.integration.cli_helpers import run_tsad

JUMPS = "artificialWithAnomaly/art_daily_jumpsup.csv"
HDR = {"Ocp-Apim-Subscription-Key": KEY}

pytestmark = pytest.mark.skipif(not NAB.is_dir(), reason="../shared/data/nab is not beside")


@pytest.fixture(scope="module")
def url(azure_url: str) -> str:
    """The shared live tsad (tests/integration/conftest.py)."""
    return azure_url


def test_v1_0_entire_detect_answers_without_severity(url: str) -> None:
    """v1.0 entire detect over REST: the v1.0 response fields, no v1.1 severity."""
    ts, y = nab_azure(JUMPS, 1000)
    body = {"series": azure_points(ts, y), "granularity": "minutely", "customInterval": 5}
    resp = httpx.post(
        f"{url}/anomalydetector/v1.0/timeseries/entire/detect", json=body, headers=HDR, timeout=120
    )
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert set(got) == {
        "period",
        "expectedValues",
        "upperMargins",
        "lowerMargins",
        "isAnomaly",
        "isNegativeAnomaly",
        "isPositiveAnomaly",
    }
    assert len(got["expectedValues"]) == 1000


def test_v1_0_last_and_changepoint_over_rest(url: str) -> None:
    """v1.0 last detect and change point answer their documented fields."""
    ts, y = nab_azure(JUMPS)
    base = {"series": azure_points(ts, y), "granularity": "minutely", "customInterval": 5}
    last = httpx.post(
        f"{url}/anomalydetector/v1.0/timeseries/last/detect",
        json={**base, "series": base["series"][:600]},
        headers=HDR,
        timeout=120,
    )
    assert last.status_code == 200, last.text
    assert {"suggestedWindow", "expectedValue", "upperMargin", "isAnomaly"} <= set(last.json())
    assert "severity" not in last.json()
    cp = httpx.post(
        f"{url}/anomalydetector/v1.0/timeseries/changepoint/detect",
        json={**base, "stableTrendWindow": 10},
        headers=HDR,
        timeout=120,
    )
    assert cp.status_code == 200, cp.text
    flagged = ts[np.flatnonzero(cp.json()["isChangePoint"])]
    ((start, end),) = nab_windows(JUMPS)
    assert any(start <= t <= end for t in flagged)


def test_bearer_keys_keep_working_and_missing_keys_are_refused(url: str) -> None:
    """Authorization: Bearer is accepted on the Azure routes; no key → 401 in Azure's shape."""
    ts, y = nab_azure(JUMPS, 200)
    body = {"series": azure_points(ts, y), "granularity": "minutely", "customInterval": 5}
    path = f"{url}/anomalydetector/v1.1/timeseries/entire/detect"
    ok = httpx.post(path, json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=120)
    assert ok.status_code == 200
    # and the Azure header is a tsad key on tsad's own routes too
    points = [[int(t) / 1000, float(v)] for t, v in zip(ts, y, strict=True)]
    own = httpx.post(f"{url}/v1/detect", json={"points": points}, headers=HDR, timeout=120)
    assert own.status_code == 200, own.text
    refused = httpx.post(path, json=body, timeout=30)
    assert refused.status_code == 401
    assert refused.headers["x-ms-error-code"] == "Unauthorized"
    assert refused.json()["code"] == "Unauthorized"


def test_a_body_that_is_not_json_is_invalid_json_format(url: str) -> None:
    """A body that is not JSON: 400 InvalidJsonFormat, in the body and the header."""
    resp = httpx.post(
        f"{url}/anomalydetector/v1.1/timeseries/entire/detect",
        content=b"{nope",
        headers={**HDR, "content-type": "application/json"},
        timeout=30,
    )
    assert resp.status_code == 400
    assert resp.headers["x-ms-error-code"] == "InvalidJsonFormat"
    assert resp.json()["code"] == "InvalidJsonFormat"


def test_v1_changepoints_on_inline_points_and_a_stored_series(url: str) -> None:
    """POST /v1/changepoints finds the NAB jump for inline points and for the same series stored."""
    ts, y = nab_azure(JUMPS)
    ((start, end),) = nab_windows(JUMPS)
    points = [[int(t) / 1000, float(v)] for t, v in zip(ts, y, strict=True)]
    auth = {"Authorization": f"Bearer {KEY}"}
    inline = httpx.post(
        f"{url}/v1/changepoints", json={"points": points}, headers=auth, timeout=120
    )
    assert inline.status_code == 200, inline.text
    got = inline.json()
    assert got["period"] == 288 and len(got["points"]) == len(ts)
    stamps = [p["timestamp"] for p in got["points"] if p["is_change_point"]]
    assert stamps == got["change_points"] and stamps
    stored = httpx.post(
        f"{url}/v1/series/jumps/points", json={"points": points}, headers=auth, timeout=60
    )
    assert stored.status_code == 200, stored.text
    again = httpx.post(
        f"{url}/v1/changepoints",
        json={"series_id": "jumps", "mode": "online"},
        headers=auth,
        timeout=120,
    )
    assert again.status_code == 200, again.text
    assert again.json()["mode"] == "online" and again.json()["pending"] == 20
    flagged = [p for p in again.json()["points"] if p["is_change_point"]]
    import pandas as pd

    assert any(start <= pd.Timestamp(p["timestamp"]).value // 1_000_000 <= end for p in flagged)


def test_cli_detect_changepoints_prints_and_writes_them(tmp_path: Path) -> None:
    """`tsad detect FILE --changepoints --output OUT` lists the jump and writes every point."""
    out = tmp_path / "cp.csv"
    proc = run_tsad("detect", NAB / "data" / JUMPS, "--changepoints", "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert "change point" in proc.stdout and "2014-04-11T09:00:00Z" in proc.stdout
    import pandas as pd

    table = pd.read_csv(out)
    assert list(table.columns) == ["timestamp", "value", "confidence", "is_change_point"]
    assert len(table) == 4032 and table["is_change_point"].sum() >= 1


def _blocks(lang: str) -> list[str]:
    text = (Path(__file__).resolve().parents[2] / "docs" / "azure-migration.md").read_text()
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_migration_page_python_example_runs(url: str, tmp_path: Path) -> None:
    """docs/azure-migration.md's Python example runs as written: the spike flagged, the
    level shift found."""
    (code,) = _blocks("python")
    script = tmp_path / "example.py"
    script.write_text(code)
    env = {**os.environ, "TSAD_ENDPOINT": url, "TSAD_KEY": KEY}
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=180
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "300" in lines[0] and "period 24" in lines[0]
    assert lines[1].startswith("last point anomalous: True")
    assert "200" in lines[2]


def test_migration_page_curl_example_runs(url: str) -> None:
    """docs/azure-migration.md's curl example answers a last-point anomaly."""
    shell = [block for block in _blocks("bash") if "curl" in block]
    assert shell and shutil.which("curl")
    env = {**os.environ, "TSAD_ENDPOINT": url, "TSAD_KEY": KEY}
    proc = subprocess.run(
        ["bash", "-c", shell[0]], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["isAnomaly"] is True and answer["isPositiveAnomaly"] is True
    assert answer["period"] == 24 and answer["suggestedWindow"] == 4 * 24 + 1
