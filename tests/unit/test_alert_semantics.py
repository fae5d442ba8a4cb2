"""Alert semantics over scored points: direction filter, N of last M, recovery window."""

from __future__ import annotations

import numpy as np
import pytest

from tsad.errors import ConfigError
from tsad.integrations.alerts import AlertPolicy, AlertTracker
from tsad.series import Scored
from tsad.settings import Settings

MIN = 60_000


def scored(flags: str, start: int = 0) -> Scored:
    """Points from a pattern: '.' normal, '+' anomaly up, '-' anomaly down, '?' unscored."""
    n = len(flags)
    ts = (np.arange(n, dtype=np.int64) + start) * MIN
    direction = np.array([{"+": 1, "-": -1}.get(c, 0) for c in flags], np.int8)
    expected = np.array([np.nan if c == "?" else 10.0 for c in flags])
    value = 10.0 + 5.0 * direction
    return Scored(
        ts=ts,
        value=value,
        expected=expected,
        lo=expected - 1,
        hi=expected + 1,
        is_anomaly=direction != 0,
        direction=direction,
        score=np.where(direction != 0, 0.999, 0.1),
        severity=np.abs(direction).astype(np.float64) * 2,
    )


def statuses(tracker: AlertTracker, flags: str, sid: str = "s", start: int = 0) -> list[tuple]:
    return [(e.status, e.ts // MIN) for e in tracker.update(sid, scored(flags, start))]


def test_one_noisy_point_does_not_fire() -> None:
    """With 2 of 3, an isolated anomaly between normal points never fires."""
    tracker = AlertTracker(AlertPolicy(n=2, m=3, recovery=2))
    assert statuses(tracker, "..+...+..+..") == []


def test_n_of_last_m_fires_once_at_the_nth_point() -> None:
    """The alert fires at the point completing N anomalies in the last M, and only once."""
    tracker = AlertTracker(AlertPolicy(n=2, m=3, recovery=3))
    assert statuses(tracker, "..+.+++") == [("firing", 4)]
    assert tracker.firing() == ["s"]


def test_recovery_needs_consecutive_quiet_points() -> None:
    """A firing alert resolves only after `recovery` quiet points in a row."""
    tracker = AlertTracker(AlertPolicy(n=1, m=1, recovery=3))
    assert statuses(tracker, "+..+...") == [("firing", 0), ("resolved", 6)]
    assert tracker.firing() == []


def test_direction_filter_ignores_the_other_side() -> None:
    """With direction 'up', drops below the band never fire; spikes above do."""
    tracker = AlertTracker(AlertPolicy(direction="up", n=2, m=2, recovery=1))
    assert statuses(tracker, "--.--") == []
    assert statuses(tracker, "++", start=5) == [("firing", 6)]
    down = AlertTracker(AlertPolicy(direction="down", n=2, m=2, recovery=1))
    assert statuses(down, "++.--") == [("firing", 4)]


def test_state_carries_across_batches_and_ignores_late_points() -> None:
    """Batches continue one window; points older than the last seen are skipped."""
    tracker = AlertTracker(AlertPolicy(n=2, m=3, recovery=1))
    assert statuses(tracker, "..+") == []
    assert statuses(tracker, "+", start=3) == [("firing", 3)]
    assert statuses(tracker, "....", start=0) == []  # late replays of old timestamps
    assert statuses(tracker, ".", start=4) == [("resolved", 4)]


def test_unscored_points_neither_trigger_nor_recover() -> None:
    """Points with no band to compare against (NaN expected) leave the state unchanged."""
    tracker = AlertTracker(AlertPolicy(n=1, m=1, recovery=1))
    assert statuses(tracker, "+???") == [("firing", 0)]
    assert tracker.firing() == ["s"]


def test_events_carry_the_triggering_point() -> None:
    """A firing event reports the value, band, direction and score of its point."""
    tracker = AlertTracker(AlertPolicy(n=1, m=1, recovery=1))
    (event,) = tracker.update("cpu", scored(".-"))
    assert (event.series_id, event.ts, event.value, event.direction) == ("cpu", MIN, 5.0, -1)
    assert (event.lo, event.hi, event.expected, event.score) == (9.0, 11.0, 10.0, 0.999)


def test_tracked_series_are_bounded() -> None:
    """Beyond max_series, the least recently updated series is forgotten."""
    tracker = AlertTracker(AlertPolicy(n=1, m=1, recovery=1), max_series=2)
    for sid in ("a", "b", "c"):
        tracker.update(sid, scored("+"))
    assert sorted(tracker.firing()) == ["b", "c"]


@pytest.mark.parametrize(
    "kwargs", [{"n": 3, "m": 2}, {"n": 0}, {"recovery": 0}, {"direction": "sideways"}]
)
def test_invalid_policies_are_refused(kwargs: dict[str, object]) -> None:
    """A policy that could never fire or never recover is a configuration error."""
    with pytest.raises(ConfigError):
        AlertPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_defaults_come_from_tsad_env() -> None:
    """TSAD_ALERT_* variables set the policy used for outbound alerts."""
    env = {
        "TSAD_ALERT_DIRECTION": "down",
        "TSAD_ALERT_N": "3",
        "TSAD_ALERT_M": "5",
        "TSAD_ALERT_RECOVERY": "4",
    }
    policy = AlertPolicy.from_settings(Settings.from_env(env).integrations)
    assert policy == AlertPolicy(direction="down", n=3, m=5, recovery=4)
    with pytest.raises(ConfigError, match="TSAD_ALERT_N"):
        Settings.from_env({"TSAD_ALERT_N": "4", "TSAD_ALERT_M": "2"})


def test_default_policy_alerts_once_per_incident() -> None:
    """By default the first flag of an incident fires and the incident's gap resolves it."""
    from tsad.detect.incidents import GAP_STEPS
    from tsad.settings import IntegrationSettings

    s = IntegrationSettings()
    tracker = AlertTracker(AlertPolicy(n=s.alert_n, m=s.alert_m, recovery=s.alert_recovery))
    flags = "..+.+" + "." * GAP_STEPS + "+"
    assert statuses(tracker, flags) == [
        ("firing", 2),
        ("resolved", 4 + GAP_STEPS),
        ("firing", 5 + GAP_STEPS),
    ]
