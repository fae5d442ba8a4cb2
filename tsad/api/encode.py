"""Encoding at the edge: numpy columns from the domain into wire Structs.

Column-wise on purpose: a detect answer can hold tens of thousands of points,
so timestamps are formatted with numpy in one call and NaN bands become null.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from tsad.api.schemas import (
    BandPoint,
    IncidentOut,
    ScoredPoint,
    StoredBandOut,
    StoredPoint,
)
from tsad.detect.incidents import Incident
from tsad.detect.online import StoredBand
from tsad.jobs import Report
from tsad.series import Band, FloatArray, IntArray, Scored, Series, format_ts, freq_alias

_DIRECTION: dict[int, Literal["up", "down"] | None] = {1: "up", -1: "down", 0: None}


def timestamps(ts: IntArray) -> list[str]:
    """Epoch ms → RFC 3339 UTC strings (milliseconds shown only when not whole)."""
    if ts.shape[0] == 0:
        return []
    dt = ts.astype("datetime64[ms]")
    if not np.any(ts % 1000):
        return [s + "Z" for s in np.datetime_as_string(dt, unit="s").tolist()]
    return [format_ts(t) for t in ts.tolist()]


def _nullable(a: FloatArray) -> list[float | None]:
    values: list[float | None] = a.tolist()
    if np.isnan(a).any():
        for i in np.flatnonzero(np.isnan(a)).tolist():
            values[i] = None
    return values


def report_fields(report: Report) -> dict[str, Any]:
    """What a model-path answer says about the run: the model and the cleaning done."""
    return {
        "model_used": report.model_used,
        "degraded": report.degraded,
        "freq": report.freq,
        "filled": report.filled,
        "duplicates": report.duplicates,
        "unsorted": report.unsorted,
        "reason": report.reason,
    }


def scored_points(scored: Scored) -> list[ScoredPoint]:
    """Every point of ``scored`` as a wire ``ScoredPoint``."""
    return [
        ScoredPoint(
            timestamp=t,
            value=v,
            expected=e,
            lo=lo,
            hi=hi,
            is_anomaly=a,
            direction=_DIRECTION[d],
            score=s,
            severity=sev,
        )
        for t, v, e, lo, hi, a, d, s, sev in zip(
            timestamps(scored.ts),
            scored.value.tolist(),
            _nullable(scored.expected),
            _nullable(scored.lo),
            _nullable(scored.hi),
            scored.is_anomaly.tolist(),
            scored.direction.tolist(),
            scored.score.tolist(),
            scored.severity.tolist(),
            strict=True,
        )
    ]


def anomaly_points(records: Sequence[dict[str, Any]]) -> list[ScoredPoint]:
    """Stored anomaly records (``tsad.service.anomaly_records``) as wire points."""
    ts = np.fromiter((int(r["ts"]) for r in records), np.int64, len(records))
    return [
        ScoredPoint(
            timestamp=t,
            value=float(r["value"]),
            expected=_finite_or_none(r.get("expected")),
            lo=_finite_or_none(r.get("lo")),
            hi=_finite_or_none(r.get("hi")),
            is_anomaly=True,
            direction=_DIRECTION.get(int(r.get("direction", 0))),
            score=float(r["score"]),
            severity=float(r["severity"]),
        )
        for t, r in zip(timestamps(ts), records, strict=True)
    ]


def incidents(
    found: Sequence[Incident], p_true: Sequence[float | None] | None = None
) -> list[IncidentOut]:
    """Incidents (``tsad.detect.incidents``) as wire objects, with the ranker's p_true."""
    ranks = list(p_true) if p_true is not None else [None] * len(found)
    return [
        IncidentOut(
            start=format_ts(i.start),
            end=format_ts(i.end),
            peak_time=format_ts(i.peak_ts),
            peak_score=i.peak_score,
            peak_severity=i.peak_severity,
            direction=_DIRECTION.get(i.direction),
            points=i.points,
            open=i.open,
            p_true=p,
        )
        for i, p in zip(found, ranks, strict=True)
    ]


def _finite_or_none(x: Any) -> float | None:
    if x is None:
        return None
    value = float(x)
    return value if np.isfinite(value) else None


def forecast_rows(band: Band) -> list[dict[str, Any]]:
    """``{timestamp, mean, lo-80, hi-80, ...}`` per step (Nixtla column names)."""
    cols = {name: values.tolist() for name, values in band.columns().items()}
    names = list(cols)
    rows: list[dict[str, Any]] = []
    for i, t in enumerate(timestamps(band.ts)):
        row: dict[str, Any] = {"timestamp": t}
        for name in names:
            row[name] = cols[name][i]
        rows.append(row)
    return rows


def stored_points(series: Series) -> list[StoredPoint]:
    return [
        StoredPoint(timestamp=t, value=v)
        for t, v in zip(timestamps(series.ts), series.y.tolist(), strict=True)
    ]


def stored_band(band: StoredBand) -> StoredBandOut:
    n = int(band.mean.shape[0])
    ts = band.start + band.step_ms * np.arange(n, dtype=np.int64)
    return StoredBandOut(
        start=format_ts(band.start),
        end=format_ts(band.end),
        freq=freq_alias(band.step_ms),
        level=band.level,
        model_used=band.model_used,
        fitted_at=format_ts(band.fitted_at),
        points=[
            BandPoint(timestamp=t, mean=m, lo=lo, hi=hi)
            for t, m, lo, hi in zip(
                timestamps(ts), band.mean.tolist(), band.lo.tolist(), band.hi.tolist(), strict=True
            )
        ],
    )
