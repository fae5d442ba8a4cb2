"""Decoding Azure Anomaly Detector requests (``tsad.integrations.azure_wire``) and the grid
they are handed to tsad on (``tsad.integrations.azure_compat``)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from tsad.errors import AzureInvalidRequest
from tsad.integrations.azure_compat import DAY_MS, WEEK_MS, proxy_step_ms, to_grid
from tsad.integrations.azure_wire import decode_changepoint, decode_detect


def body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def monthly(n: int, skip: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        if i in skip:
            continue
        year, month = 2020 + i // 12, i % 12 + 1
        out.append({"timestamp": f"{year}-{month:02d}-01T00:00:00Z", "value": float(i % 12)})
    return out


def hourly(n: int) -> list[dict[str, Any]]:
    """``n`` hourly points from 2024-01-01, value = the hour's index."""
    return [
        {"timestamp": f"2024-01-{1 + h // 24:02d}T{h % 24:02d}:00:00Z", "value": float(h)}
        for h in range(n)
    ]


def test_monthly_series_sit_on_calendar_slots_with_a_yearly_season() -> None:
    """Months of unequal length are consecutive slots; a missing month is a gap of one slot,
    and the proxy clock gives tsad a season of 12 (a 2-hour step)."""
    opts = decode_detect(body(series=monthly(40, skip=(10,)), granularity="monthly"))
    s = opts.series
    assert s.slots == 40 and s.missing == 1
    assert s.index[9] == 9 and s.index[10] == 11
    assert proxy_step_ms(s) == DAY_MS // 12


def test_a_timestamp_off_the_month_grid_is_invalid_series() -> None:
    """The 15th of a month in a monthly series: InvalidSeries naming the point's index."""
    series = monthly(24)
    series[5]["timestamp"] = "2020-06-15T00:00:00Z"
    with pytest.raises(AzureInvalidRequest) as caught:
        decode_detect(body(series=series, granularity="monthly"))
    assert caught.value.code == "InvalidSeries" and "index 5" in caught.value.detail


@pytest.mark.parametrize(
    ("mode", "extra", "fill"),
    [
        ("linear", {}, 6.0),
        ("auto", {}, 6.0),
        ("previous", {}, 5.0),
        ("zero", {}, 0.0),
        ("fixed", {"imputeFixedValue": 42}, 42.0),
    ],
)
def test_impute_modes_fill_the_gap(mode: str, extra: dict[str, Any], fill: float) -> None:
    """A missing hour is filled by imputeMode; the input points keep their grid slots."""
    series = [p for i, p in enumerate(hourly(30)) if i != 6]
    opts = decode_detect(body(series=series, granularity="hourly", imputeMode=mode, **extra))
    grid = to_grid(opts.series, opts.impute_mode, opts.impute_fixed_value)
    assert grid.y.shape[0] == 30 and grid.y[6] == pytest.approx(fill)
    assert grid.where.tolist() == [i for i in range(30) if i != 6]
    assert np.all(np.diff(grid.ts) == 3_600_000)


def test_not_fill_scores_the_points_as_sent() -> None:
    """imputeMode notFill: no slot is added, each input point is one slot."""
    series = [p for i, p in enumerate(hourly(30)) if i not in (6, 7)]
    opts = decode_detect(body(series=series, granularity="hourly", imputeMode="notFill"))
    grid = to_grid(opts.series, opts.impute_mode)
    assert grid.y.shape[0] == 28 and grid.where.tolist() == list(range(28))


def test_no_granularity_needs_no_timestamps_and_has_no_season() -> None:
    """granularity absent = none: values only, weekly proxy step (no season)."""
    opts = decode_detect(body(series=[{"value": float(i)} for i in range(20)]))
    assert opts.series.granularity == "none"
    assert proxy_step_ms(opts.series) == WEEK_MS


def test_a_period_in_the_request_becomes_the_season() -> None:
    """period 12 on hourly data: the proxy step is a day / 12, so tsad fits season 12."""
    opts = decode_detect(body(series=hourly(48), granularity="hourly", period=12))
    assert proxy_step_ms(opts.series) == DAY_MS // 12


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"series": hourly(30), "granularity": "hourly", "period": 20}, "InvalidModelArgument"),
        (
            {"series": hourly(30), "granularity": "hourly", "sensitivity": 9.5},
            "InvalidModelArgument",
        ),
        (
            {"series": hourly(30), "granularity": "hourly", "customInterval": "5"},
            "InvalidCustomInterval",
        ),
        (
            {"series": [{"timestamp": "yesterday", "value": 1}] * 12, "granularity": "hourly"},
            "BadArgument",
        ),
        ({"series": [{"value": None}] * 12}, "BadArgument"),
        ({"series": "1,2,3"}, "BadArgument"),
    ],
)
def test_refusals_carry_the_service_code(fields: dict[str, Any], code: str) -> None:
    """Each bad field is refused with Azure's error code (AzureInvalidRequest, status 400)."""
    with pytest.raises(AzureInvalidRequest) as caught:
        decode_detect(body(**fields))
    assert caught.value.code == code and caught.value.status == 400


def test_a_seasonal_series_missing_most_slots_is_refused() -> None:
    """Hourly points every third hour: over half the slots missing on a seasonal series."""
    series = [p for i, p in enumerate(hourly(120)) if i % 3 == 0]
    opts = decode_detect(body(series=series, granularity="hourly"))
    with pytest.raises(AzureInvalidRequest, match="Ratio of missing points"):
        to_grid(opts.series)


def test_changepoint_needs_a_granularity_and_reads_its_knobs() -> None:
    """Change point: granularity required; stableTrendWindow and threshold decoded."""
    with pytest.raises(AzureInvalidRequest) as caught:
        decode_changepoint(body(series=hourly(30)))
    assert caught.value.code == "RequiredGranularity"
    opts = decode_changepoint(
        body(series=hourly(30), granularity="hourly", stableTrendWindow=5, threshold=0.5)
    )
    assert opts.stable_trend_window == 5 and opts.threshold == 0.5
