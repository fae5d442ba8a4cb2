"""What Grafana panels draw: a series, its band and its anomalies, for a time range.

Two readers, one source:

* the Infinity data source reads ``panel_rows`` directly (rows of ``time, value,
  expected, lo, hi, is_anomaly, anomalous``);
* SimpleJSON-compatible data sources ask for named targets. Names mirror Grafana
  ML: ``<id>`` (or ``<id>:actual``) the points, ``<id>:predicted`` three series
  ``ml_forecast`` = ``yhat``/``yhat_lower``/``yhat_upper``, ``<id>:anomalous``
  1 above the band, -1 below, 0 inside.

The band of a point is what it was scored against when it arrived if it was
flagged (the anomaly record keeps it); otherwise the band stored now, where it
reaches. The stored band also extends past the last point: those rows carry a
band and no value, the forecast ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tsad.series import FloatArray, IntArray, format_ts

if TYPE_CHECKING:
    from tsad.service import TsadService

PREDICTED = ":predicted"
ANOMALOUS = ":anomalous"
ACTUAL = ":actual"
ML_FORECAST = ("yhat", "yhat_lower", "yhat_upper")


@dataclass(frozen=True)
class PanelData:
    """Columns on one time axis; NaN where a column has nothing at that time."""

    ts: IntArray
    value: FloatArray
    expected: FloatArray
    lo: FloatArray
    hi: FloatArray
    anomalous: np.ndarray[Any, np.dtype[np.int8]]


async def panel_data(
    service: TsadService, series_id: str, start: int | None, end: int | None
) -> PanelData:
    """Points, band and flags of one series between ``start`` and ``end`` (inclusive)."""
    window = await service.points(series_id, start, end)
    records = await service.anomalies(series_id, start, end)
    band = (await service.series(series_id)).band
    ts, value = window.ts, window.y
    if band is not None and band.mean.shape[0]:
        # the band's steps after the last point: the forecast ahead, with no value yet
        grid = band.start + band.step_ms * np.arange(band.mean.shape[0], dtype=np.int64)
        last = int(ts[-1]) if ts.shape[0] else None
        keep = np.ones(grid.shape[0], bool)
        if last is not None:
            keep &= grid > last
        if start is not None:
            keep &= grid >= start
        if end is not None:
            keep &= grid <= end
        ahead = grid[keep]
        ts = np.concatenate([ts, ahead])
        value = np.concatenate([value, np.full(ahead.shape[0], np.nan)])
    n = ts.shape[0]
    expected, lo, hi = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    anomalous = np.zeros(n, np.int8)
    scored = np.zeros(n, bool)
    if band is not None and band.mean.shape[0]:
        idx = np.rint((ts - band.start) / band.step_ms).astype(np.int64)
        inside = (idx >= 0) & (idx < band.mean.shape[0])
        pick = idx[inside]
        expected[inside], lo[inside], hi[inside] = band.mean[pick], band.lo[pick], band.hi[pick]
        scored = inside & ~np.isnan(value)
        anomalous[scored & (value > hi)] = 1
        anomalous[scored & (value < lo)] = -1
    if records:
        # flagged points keep the band they were judged by, which may since have been refitted
        at = {int(r["ts"]): r for r in records}
        for i in np.flatnonzero(np.isin(ts, np.fromiter(at, np.int64, len(at)))).tolist():
            rec = at[int(ts[i])]
            expected[i], lo[i], hi[i] = rec["expected"], rec["lo"], rec["hi"]
            anomalous[i] = int(rec["direction"]) or 1
    return PanelData(ts, value, expected, lo, hi, anomalous)


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def panel_rows(data: PanelData) -> list[dict[str, Any]]:
    """Rows for the Infinity data source (time as RFC 3339, nulls where unknown)."""
    return [
        {
            "time": format_ts(t),
            "value": _num(v),
            "expected": _num(e),
            "lo": _num(lo),
            "hi": _num(hi),
            "is_anomaly": bool(a != 0),
            "anomalous": int(a),
        }
        for t, v, e, lo, hi, a in zip(
            data.ts.tolist(),
            data.value.tolist(),
            data.expected.tolist(),
            data.lo.tolist(),
            data.hi.tolist(),
            data.anomalous.tolist(),
            strict=True,
        )
    ]


def split_target(target: str) -> tuple[str, str]:
    """``cpu:predicted`` → ('cpu', 'predicted'); a bare id is its 'actual' values."""
    for suffix in (PREDICTED, ANOMALOUS, ACTUAL):
        if target.endswith(suffix) and len(target) > len(suffix):
            return target[: -len(suffix)], suffix[1:]
    return target, "actual"


def _datapoints(ts: IntArray, values: FloatArray) -> list[list[float | int | None]]:
    return [[_num(v), int(t)] for t, v in zip(ts.tolist(), values.tolist(), strict=True)]


def target_series(target: str, kind: str, data: PanelData) -> list[dict[str, Any]]:
    """SimpleJSON ``timeserie`` answers for one requested target."""
    if kind == "predicted":
        has_band = ~np.isnan(data.expected)
        ts = data.ts[has_band]
        columns = (data.expected[has_band], data.lo[has_band], data.hi[has_band])
        return [
            {"target": f'{target}{{ml_forecast="{name}"}}', "datapoints": _datapoints(ts, col)}
            for name, col in zip(ML_FORECAST, columns, strict=True)
        ]
    has_value = ~np.isnan(data.value)
    if kind == "anomalous":
        judged = has_value & ~np.isnan(data.expected)
        flags = data.anomalous[judged].astype(np.float64)
        return [{"target": target, "datapoints": _datapoints(data.ts[judged], flags)}]
    points = _datapoints(data.ts[has_value], data.value[has_value])
    return [{"target": target, "datapoints": points}]


def search_targets(series_ids: list[str], query: str, limit: int = 1_000) -> list[str]:
    """Target names offered for a search string (substring match, sorted, bounded)."""
    names: list[str] = []
    needle = query.strip().lower()
    for sid in sorted(series_ids):
        for name in (sid, sid + PREDICTED, sid + ANOMALOUS):
            if needle in name.lower():
                names.append(name)
                if len(names) >= limit:
                    return names
    return names


def anomaly_annotations(series_id: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Anomaly records as SimpleJSON annotations (time in ms, title, text, tags)."""
    out: list[dict[str, Any]] = []
    for rec in records:
        direction = {1: "up", -1: "down"}.get(int(rec["direction"]), "anomaly")
        out.append(
            {
                "time": int(rec["ts"]),
                "title": f"{series_id}: anomaly ({direction})",
                "text": (
                    f"value {rec['value']:g} outside [{rec['lo']:g}, {rec['hi']:g}], "
                    f"expected {rec['expected']:g}, score {rec['score']:.4f}"
                ),
                "tags": [series_id, direction],
            }
        )
    return out
