"""Webhook payload decoding: Grafana (version 1) fixtures and Alertmanager (version 4) bodies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsad.errors import BadRequest, InvalidInput
from tsad.integrations.alertmanager import (
    label_fingerprint,
    parse_alertmanager,
    parse_wire_time,
    postable_alert,
)
from tsad.integrations.alerts import rule_series_id
from tsad.integrations.grafana import parse_grafana

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "grafana"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def am_body(**overrides: object) -> bytes:
    body: dict[str, object] = {
        "receiver": "tsad",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "InstanceDown", "instance": "web-1:9100"},
                "annotations": {"summary": "web-1 down"},
                "startsAt": "2024-03-04T10:00:00.123456789Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0",
                "fingerprint": "5d3c1e0f9a8b7c6d",
            }
        ],
        "groupLabels": {"alertname": "InstanceDown"},
        "commonLabels": {"alertname": "InstanceDown"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="InstanceDown"}',
        "truncatedAlerts": 0,
    }
    body.update(overrides)
    return json.dumps(body).encode()


def test_grafana_firing_fixture_yields_every_alert_with_its_values() -> None:
    """A firing Grafana notification decodes to one normalised alert per listed alert."""
    payload, alerts = parse_grafana(fixture("firing_several.json"))
    assert payload.orgId == 1 and payload.truncatedAlerts == 0 and payload.state == "alerting"
    assert [a.rule for a in alerts] == ["Disk almost full", "Disk almost full", "High 5xx rate"]
    assert [a.fingerprint for a in alerts] == [
        "3f1e2d4c5b6a7980",
        "0a9b8c7d6e5f4031",
        "77aa66bb55cc44dd",
    ]
    assert all(a.status == "firing" for a in alerts)
    assert payload.alerts[0].values == {"A": 93.4, "B": 93.4, "C": 1.0}
    # 10:15:37.009+01:00 is 09:15:37.009 UTC
    assert alerts[1].starts_ms == 1_709_543_737_009


def test_grafana_resolved_fixture_is_read_as_resolved() -> None:
    """A resolved notification keeps its fingerprint and start so it matches the episode."""
    payload, alerts = parse_grafana(fixture("resolved.json"))
    assert payload.status == "resolved" and payload.state == "ok"
    assert [(a.status, a.fingerprint) for a in alerts] == [("resolved", "3f1e2d4c5b6a7980")]
    assert alerts[0].starts_ms == parse_wire_time("2024-03-04T10:15:07.412Z", "x")


def test_grafana_truncated_group_reports_how_many_were_left_out() -> None:
    """A truncated group lists only some alerts and says how many more there were."""
    payload, alerts = parse_grafana(fixture("truncated.json"))
    assert payload.truncatedAlerts == 38 and len(alerts) == 2


def test_alertmanager_v4_payload_decodes_with_nanosecond_times() -> None:
    """Alertmanager's RFC 3339 nanosecond timestamps are read to the millisecond."""
    payload, alerts = parse_alertmanager(am_body())
    assert payload.groupKey == '{}:{alertname="InstanceDown"}'
    assert alerts[0].starts_ms == 1_709_546_400_123
    assert alerts[0].rule == "InstanceDown"


def test_zero_time_and_missing_times_mean_unset() -> None:
    """The Go zero time (0001-01-01) that senders use for 'not set' becomes None."""
    assert parse_wire_time("0001-01-01T00:00:00Z", "x") is None
    assert parse_wire_time(None, "x") is None
    assert parse_wire_time("2024-01-01T00:00:00", "x") == 1_704_067_200_000


def test_missing_fingerprint_is_derived_from_labels_stably() -> None:
    """Without a fingerprint, the same label set always gets the same derived one."""
    body = json.loads(am_body())
    del body["alerts"][0]["fingerprint"]
    _, alerts = parse_alertmanager(json.dumps(body).encode())
    assert alerts[0].fingerprint == label_fingerprint(
        {"instance": "web-1:9100", "alertname": "InstanceDown"}
    )
    assert label_fingerprint({"a": "1"}) != label_fingerprint({"a": "2"})


@pytest.mark.parametrize(
    ("body", "error", "says"),
    [
        (b"", BadRequest, "empty body"),
        (b"{not json", BadRequest, "not valid JSON"),
        (b"[]", InvalidInput, "Expected `object`, got `array`"),
        (am_body(version="3"), InvalidInput, "unsupported Alertmanager webhook version '3'"),
        (am_body(alerts=[{"status": "firing"}]), InvalidInput, "`$.alerts[0]`"),
        (am_body(alerts="x"), InvalidInput, "`$.alerts`"),
        (am_body(status="pending"), InvalidInput, "`$.status`"),
    ],
)
def test_malformed_alertmanager_bodies_say_what_is_wrong(
    body: bytes, error: type[Exception], says: str
) -> None:
    """Malformed bodies raise a client error whose detail names the problem and where."""
    with pytest.raises(error) as info:
        parse_alertmanager(body)
    assert says in str(info.value)


def test_bad_start_time_names_the_alert() -> None:
    """An unparseable startsAt is reported with the index of the alert carrying it."""
    body = json.loads(am_body())
    body["alerts"][0]["startsAt"] = "yesterday"
    with pytest.raises(InvalidInput, match=r"alerts\[0\]\.startsAt"):
        parse_alertmanager(json.dumps(body).encode())


def test_legacy_grafana_payload_is_refused_with_advice() -> None:
    """Legacy Grafana alerting bodies (evalMatches) are refused naming the fix."""
    legacy = json.dumps({"ruleName": "x", "state": "alerting", "evalMatches": []}).encode()
    with pytest.raises(InvalidInput, match="unified alerting"):
        parse_grafana(legacy)


def test_grafana_wrong_version_is_refused() -> None:
    """A Grafana body with another payload version is refused, saying which one is read."""
    body = json.loads(fixture("resolved.json"))
    body["version"] = "2"
    with pytest.raises(InvalidInput, match="version '2'"):
        parse_grafana(json.dumps(body).encode())


def test_rule_series_ids_are_valid_and_never_the_total() -> None:
    """Rule names map to valid ids; a rule named 'total' cannot merge into the total."""
    assert rule_series_id("Disk almost full") == "alerts:Disk_almost_full"
    assert rule_series_id("") == "alerts:_unnamed"
    assert rule_series_id("total") == "alerts:total_rule"


def test_postable_alert_has_alertmanager_v2_fields() -> None:
    """An outbound alert carries labels, annotations, RFC 3339 times and the generator URL."""
    item = postable_alert(
        {"alertname": "TsadAnomaly"},
        {"summary": "s"},
        starts_ms=1_704_067_200_000,
        ends_ms=1_704_067_260_500,
        generator_url="http://tsad/v1/series/x",
    )
    assert item == {
        "labels": {"alertname": "TsadAnomaly"},
        "annotations": {"summary": "s"},
        "startsAt": "2024-01-01T00:00:00Z",
        "endsAt": "2024-01-01T00:01:00.500Z",
        "generatorURL": "http://tsad/v1/series/x",
    }
    assert "endsAt" not in postable_alert({}, {}, starts_ms=0)
