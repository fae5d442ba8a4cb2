"""The web console in a real browser: Playwright driving Debian's Chromium against a
live ``tsad serve``. Pages load only from tsad itself (no CDN) and log no errors."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import live_tsad
from tsad.demo import as_points
from tsad.samples import SAMPLE_CSV, make_sample

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
KEY = "console-test-key"


def _post_sample(base: str, headers: dict[str, str] | None = None) -> None:
    ts, y = make_sample()
    quiet = [[int(t), 10.0 + (i % 5)] for i, t in enumerate(ts[:200])]
    body = {
        "series": [
            {"series_id": "web.requests", "points": as_points(ts, y)},
            {"series_id": "db.latency", "points": quiet},
            {"series_id": "tiny", "points": quiet[:5]},
        ]
    }
    httpx.post(f"{base}/v1/points", json=body, headers=headers, timeout=30).raise_for_status()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_tsad(tmp_path_factory.mktemp("serve")) as (base, _):
        _post_sample(base)
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


class Watched:
    """A page whose console errors and requests are recorded."""

    def __init__(self, browser: Any) -> None:
        self.page = browser.new_page(viewport={"width": 1300, "height": 900})
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.urls.append(r.url))

    def only_from(self, base: str) -> list[str]:
        return [u for u in self.urls if not u.startswith(base)]


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    w = Watched(browser)
    yield w
    w.page.close()


def test_list_shows_posted_series_searchable_and_sortable(server: str, watched: Watched) -> None:
    """The series list shows each posted series with its point count; search and sort work."""
    page = watched.page
    page.goto(f"{server}/")
    page.wait_for_selector("body[data-loaded='1']", timeout=60_000)
    rows = page.locator("#series-table tbody tr")
    assert rows.count() == 3
    text = page.locator("#series-table").inner_text()
    assert "web.requests" in text and "1,440" in text and "db.latency" in text
    page.locator("th[data-key='count']").click()  # ascending: the shortest series first
    assert rows.first.get_attribute("data-id") == "tiny"
    page.locator("th[data-key='count']").click()
    assert rows.first.get_attribute("data-id") == "web.requests"
    page.fill("#search", "latency")
    assert rows.count() == 1 and rows.first.get_attribute("data-id") == "db.latency"
    assert watched.errors == [] and watched.only_from(server) == []


def test_series_page_draws_band_flags_and_forecast(
    server: str, watched: Watched, tmp_path: Path
) -> None:
    """A series page draws values, band, flags and the stored band; then a forecast overlay."""
    deadline = time.monotonic() + 120
    while httpx.get(f"{server}/v1/series/web.requests", timeout=10).json()["band"] is None:
        assert time.monotonic() < deadline, "no band was fitted for web.requests"
        time.sleep(0.5)
    page = watched.page
    page.goto(f"{server}/console/series?id=web.requests")
    page.wait_for_selector("body[data-loaded='1']", timeout=120_000)
    chart = page.locator("#chart")
    assert chart.get_attribute("data-points") == "1440"
    assert chart.get_attribute("data-band") == "1"
    assert int(chart.get_attribute("data-flagged") or 0) >= 1
    assert page.locator("#chart canvas").count() >= 1
    legend = page.locator("#chart .u-legend").inner_text()
    assert "band 99% hi" in legend and "flagged" in legend and "stored band" in legend
    assert int(chart.get_attribute("data-forecast") or 0) > 0  # the stored band, ahead
    page.screenshot(path=str(tmp_path / "series.png"), full_page=True)
    assert (tmp_path / "series.png").stat().st_size > 20_000
    page.fill("#h", "36")
    page.click("#forecast-button")
    page.wait_for_selector("#chart[data-forecast='36']", timeout=120_000)
    assert "hi-95" in page.locator("#chart .u-legend").inner_text()
    assert watched.errors == [] and watched.only_from(server) == []


INCIDENT = {
    "start": "2024-01-10T00:40:00Z",
    "end": "2024-01-10T01:00:00Z",
    "peak_score": 0.97,
    "peak_severity": 2.5,
    "direction": "up",
    "points": 3,
    "open": True,
    "p_true": 0.83,
}


def _with_newer_fields(route: Any) -> None:
    """Answer as a server with incidents and learning state would: the real body, plus them."""
    url = route.request.url
    resp = route.fetch()
    body = resp.json()
    if "/anomalies" in url:
        body = {"series_id": body["series_id"], "incidents": [INCIDENT]}
    else:
        body.update(learning=False, points_needed=0, sensitivity=0.5, threshold=0.9)
    route.fulfill(response=resp, json=body)


def test_console_uses_incidents_and_learning_fields_when_the_api_has_them(
    server: str, watched: Watched
) -> None:
    """Given `incidents` and `learning` in answers, the list and series page show them."""
    page = watched.page
    page.route("**/v1/series/web.requests/anomalies*", _with_newer_fields)
    page.route("**/v1/series/web.requests", _with_newer_fields)
    page.goto(f"{server}/")
    page.wait_for_selector("body[data-loaded='1']", timeout=60_000)
    row = page.locator("#series-table tr[data-id='web.requests']")
    assert row.locator("td").nth(6).inner_text() == "1"
    assert row.locator("td").nth(6).get_attribute("title") == "open incidents"
    page.goto(f"{server}/console/series?id=web.requests")
    page.wait_for_selector("body[data-loaded='1']", timeout=120_000)
    facts = page.locator("#facts").inner_text()
    assert "score threshold" in facts and "0.9" in facts and "detecting" in facts
    incidents = page.locator("#incidents tbody tr")
    assert incidents.count() == 1
    assert "open" in incidents.first.inner_text() and "▲ up" in incidents.first.inner_text()
    assert watched.errors == []


def test_a_series_too_short_for_a_model_says_it_is_learning(server: str, watched: Watched) -> None:
    """A 5-point series draws its values and says how many more points a band needs."""
    page = watched.page
    page.goto(f"{server}/console/series?id=tiny")
    page.wait_for_selector("body[data-loaded='1']", timeout=30_000)
    assert page.locator("#chart").get_attribute("data-points") == "5"
    assert page.locator("#chart").get_attribute("data-band") == "0"
    assert "7 more points" in page.locator("#chart-note").inner_text()
    assert watched.errors == [] and watched.only_from(server) == []


def test_csv_page_detects_a_dropped_file_without_storing_it(server: str, watched: Watched) -> None:
    """The CSV page sends a NAB-style file to /v1/detect and draws the flagged result."""
    page = watched.page
    page.goto(f"{server}/console/csv")
    page.set_input_files("#file", str(SAMPLE_CSV))
    page.wait_for_selector("#run:not([disabled])")
    assert "1,440 points" in page.locator("#file-name").inner_text()
    page.click("#run")
    page.wait_for_selector("body[data-result='detect']", timeout=120_000)
    assert int(page.locator("#flag-count").inner_text()) >= 1
    assert page.locator("#chart").get_attribute("data-band") == "1"
    assert page.locator("#flags tbody tr").count() >= 1
    listed = httpx.get(f"{server}/v1/series", timeout=10).json()["series"]
    assert sorted(s["series_id"] for s in listed) == ["db.latency", "tiny", "web.requests"]
    assert watched.errors == [] and watched.only_from(server) == []


def test_csv_page_forecasts_one_series_of_a_long_format_file(
    server: str, watched: Watched, tmp_path: Path
) -> None:
    """A unique_id,ds,y file offers its series; the chosen one is forecast and drawn."""
    ts, y = make_sample()
    rows = ["unique_id,ds,y"]
    for uid, scale in (("east", 1.0), ("west", 2.0)):
        rows += [f"{uid},{int(t)},{v * scale:.1f}" for t, v in zip(ts[:400], y[:400], strict=True)]
    src = tmp_path / "long.csv"
    src.write_text("\n".join(rows) + "\n")
    page = watched.page
    page.goto(f"{server}/console/csv")
    page.set_input_files("#file", str(src))
    page.wait_for_selector("#run:not([disabled])")
    assert page.locator("#uid option").all_inner_texts() == ["east", "west"]
    page.select_option("#uid", "west")
    page.check("input[name=mode][value=forecast]")
    page.fill("#h", "24")
    page.click("#run")
    page.wait_for_selector("body[data-result='forecast']", timeout=120_000)
    chart = page.locator("#chart")
    assert chart.get_attribute("data-points") == "400"
    assert chart.get_attribute("data-forecast") == "24"
    assert "24 steps ahead" in page.locator("#result-summary").inner_text()
    assert watched.errors == [] and watched.only_from(server) == []


def test_status_page_and_api_docs_render_offline(server: str, watched: Watched) -> None:
    """The status page shows buffer, workers and settings; /schema renders Swagger UI locally."""
    page = watched.page
    page.goto(f"{server}/console/status")
    page.wait_for_selector("body[data-loaded='1']", timeout=30_000)
    text = page.locator("main").inner_text()
    # tsad serve's default store: the embedded SQLite buffer
    assert "EmbeddedBuffer" in text and "model workers" in text and "detect_level" in text
    page.goto(f"{server}/schema")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert page.locator(".opblock-summary-path", has_text="/v1/forecast").count() == 1
    assert httpx.get(f"{server}/schema/openapi.json", timeout=10).json()["openapi"].startswith("3")
    assert watched.errors == [] and watched.only_from(server) == []


def test_console_asks_for_a_key_when_keys_are_set(browser: Any, tmp_path: Path) -> None:
    """With TSAD_API_KEYS, the console prompts for a key, rejects a wrong one, then works."""
    with live_tsad(tmp_path, TSAD_API_KEYS=KEY, TSAD_AUTH_READS="1") as (base, _):
        _post_sample(base, {"authorization": f"Bearer {KEY}"})
        assert httpx.get(f"{base}/v1/series", timeout=10).status_code == 401
        w = Watched(browser)
        page = w.page
        page.goto(f"{base}/")
        dialog = page.locator("#key-dialog")
        dialog.wait_for(state="visible")
        page.keyboard.press("Escape")  # dismissed: the page says a key is needed
        page.wait_for_selector("#error:text('API key')")
        page.reload()
        dialog.wait_for(state="visible")
        page.fill("#key-dialog input", "wrong-key")
        page.click("#key-dialog button[type=submit]")
        page.wait_for_selector("#key-dialog .reason:text('not accepted')")
        page.fill("#key-dialog input", KEY)
        page.click("#key-dialog button[type=submit]")
        page.wait_for_selector("body[data-loaded='1']", timeout=60_000)
        assert page.locator("#series-table tbody tr").count() == 3
        assert page.evaluate("sessionStorage.getItem('tsad.apiKey')") == KEY
        # the browser logs each refused request; nothing else may go wrong
        assert [e for e in w.errors if "status of 401" not in e] == []
        w.page.close()


def test_incident_feedback_buttons_record_labels(server: str, watched: Watched) -> None:
    """An alert's feedback link marks its incident; the "false alarm" button records a
    false_positive over the incident's span and the row then shows the label."""
    page = watched.page
    page.route("**/v1/series/web.requests/anomalies*", _with_newer_fields)
    at = "1704847500"  # 2024-01-10T00:45:00Z, inside INCIDENT
    page.goto(f"{server}/console/series?id=web.requests&feedback={at}")
    page.wait_for_selector("body[data-loaded='1']", timeout=120_000)
    row = page.locator("#incidents tbody tr.target")
    assert row.count() == 1 and "p 0.83" in row.inner_text()
    row.locator("button[data-label='false_positive']").click()
    page.wait_for_selector("#incidents .labelled", timeout=30_000)
    assert "false alarm" in page.locator("#incidents tbody tr").first.inner_text()
    stored = httpx.get(f"{server}/v1/series/web.requests/feedback", timeout=10).json()
    assert [(f["label"], f["start"], f["end"]) for f in stored["feedback"]] == [
        ("false_positive", INCIDENT["start"], INCIDENT["end"])
    ]
    assert "feedback" in page.locator("#facts").inner_text()
    assert watched.errors == []
