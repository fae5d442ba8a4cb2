"""Azure Anomaly Detector v1.1 multivariate answers from ``service.groups.models``.

A thin translator: decode the SDK's bodies, call the trained-model component
(``tsad.multivariate.models``), encode Azure's shapes. ``score`` is tsad's score
(0–1), ``severity`` tsad's severity of a flagged row (0 otherwise),
``interpretation`` the top contributing variables with ``contributionScore`` =
their share of the row's surprise (shares of all variables sum to 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tsad.errors import InvalidInput
from tsad.integrations.azure_wire import fail, read_body
from tsad.multivariate.align import Aligned, align
from tsad.multivariate.detector import MultiScored
from tsad.multivariate.models import BatchResult, TrainedModel
from tsad.series import Series, format_ts, parse_timestamp, parse_value
from tsad.service import TsadService

MAX_TOP = 50


def query_int(raw: str | None, name: str, default: int) -> int:
    """A non-negative integer query parameter, or Azure's 400."""
    if raw is None:
        return default
    if not raw.isdigit():
        raise fail("BadArgument", f"'{name}' must be a non-negative integer.")
    return int(raw)


def _time(body: dict[str, Any], key: str) -> int | None:
    raw = body.get(key)
    if raw is None:
        return None
    try:
        return parse_timestamp(raw)
    except InvalidInput:
        raise fail("InvalidTimestamp", f"'{key}' is not a valid timestamp.") from None


def _source(body: dict[str, Any]) -> str:
    src = body.get("dataSource")
    if not isinstance(src, str) or not src:
        raise fail("BadArgument", "'dataSource' is required.")
    return src


def _top(body: dict[str, Any]) -> int:
    top = body.get("topContributorCount", 10)
    if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= MAX_TOP:
        raise fail("BadArgument", f"'topContributorCount' must be an integer from 1 to {MAX_TOP}.")
    return top


def variable_states(
    variables: tuple[str, ...], ratios: tuple[float, ...], rows: tuple[int, int, int]
) -> list[dict[str, Any]]:
    n, first, last = rows
    return [
        {
            "variable": v,
            "filledNARatio": round(r, 6),
            "effectiveCount": round(n * (1 - r)),
            "firstTimestamp": format_ts(first),
            "lastTimestamp": format_ts(last),
        }
        for v, r in zip(variables, ratios, strict=True)
    ]


def encode_model(m: TrainedModel) -> dict[str, Any]:
    created = format_ts(m.created_ms)
    return {
        "modelId": m.model_id,
        "createdTime": created,
        "lastUpdatedTime": created,
        "modelInfo": {
            "dataSource": m.source,
            "dataSchema": "OneTable",
            "startTime": format_ts(m.start if m.start is not None else m.counts[1]),
            "endTime": format_ts(m.end if m.end is not None else m.counts[2]),
            "displayName": m.display_name,
            "slidingWindow": m.sliding_window,
            "alignPolicy": {"alignMode": "Outer", "fillNAMethod": "Previous", "paddingValue": 0},
            "status": "READY",
            "errors": [],
            "diagnosticsInfo": {
                "modelState": {
                    "epochIds": [],
                    "trainLosses": [],
                    "validationLosses": [],
                    "latenciesInSeconds": [],
                },
                "variableStates": variable_states(m.variables, m.filled_ratio, m.counts),
            },
        },
    }


async def train(service: TsadService, raw: bytes) -> dict[str, Any]:
    body = read_body(raw)
    window = body.get("slidingWindow", 300)
    if not isinstance(window, int) or isinstance(window, bool) or not 28 <= window <= 2880:
        raise fail("BadArgument", "'slidingWindow' must be an integer from 28 to 2880.")
    name = body.get("displayName")
    try:
        model = await service.groups.models.train(
            _source(body),
            _time(body, "startTime"),
            _time(body, "endTime"),
            name if isinstance(name, str) else None,
            window,
        )
    except InvalidInput as exc:  # Azure answers every bad argument with a 400
        raise fail("BadArgument", exc.detail) from None
    return encode_model(model)


def list_models(service: TsadService, skip: int, top: int) -> dict[str, Any]:
    models = sorted(service.groups.models.models.values(), key=lambda m: m.created_ms)
    page = models[skip : skip + top]
    return {
        "models": [encode_model(m) for m in page],
        "currentCount": len(models),
        "maxCount": 300,
        "nextLink": None,
    }


def anomaly_states(scored: MultiScored, rows: range, top: int) -> list[dict[str, Any]]:
    out = []
    for i in rows:
        interp = [
            {
                "variable": v,
                "contributionScore": round(s, 6),
                "correlationChanges": {"changedVariables": []},
            }
            for v, s in scored.top(i, top)
        ]
        out.append(
            {
                "timestamp": format_ts(int(scored.ts[i])),
                "value": {
                    "isAnomaly": bool(scored.is_anomaly[i]),
                    "severity": float(scored.severity[i]),
                    "score": float(scored.score[i]),
                    "interpretation": interp if scored.is_anomaly[i] else [],
                },
                "errors": [],
            }
        )
    return out


def submit_batch(service: TsadService, model_id: str, raw: bytes) -> BatchResult:
    body = read_body(raw)
    model = service.groups.models.get(model_id)
    src = _source(body)
    start, end = _time(body, "startTime"), _time(body, "endTime")
    top = _top(body)
    setup = {
        "dataSource": src,
        "topContributorCount": top,
        "startTime": body.get("startTime"),
        "endTime": body.get("endTime"),
    }
    return service.groups.models.submit(model, src, start, end, top, setup)


def encode_result(res: BatchResult, service: TsadService) -> dict[str, Any]:
    states: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    if res.scored is not None and res.aligned is not None:
        s, a = res.scored, res.aligned
        states = variable_states(
            s.variables,
            tuple(a.filled_ratio()[a.variables.index(v)] for v in s.variables),
            (len(a), int(a.ts[0]), int(a.ts[-1])),
        )
        results = anomaly_states(s, range(len(s)), res.top)
    return {
        "resultId": res.result_id,
        "summary": {
            "status": res.status,
            "errors": res.errors,
            "variableStates": states,
            "setupInfo": res.setup,
        },
        "results": results,
    }


def _variables(body: dict[str, Any]) -> Aligned:
    raw = body.get("variables")
    if not isinstance(raw, list) or len(raw) < 2:
        raise fail("BadArgument", "'variables' must list 2 or more variables.")
    members: dict[str, Series] = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("variable"), str):
            raise fail(
                "BadArgument", "each entry of 'variables' needs 'variable', 'timestamps', 'values'."
            )
        stamps, values = item.get("timestamps"), item.get("values")
        if (
            not isinstance(stamps, list)
            or not isinstance(values, list)
            or len(stamps) != len(values)
            or not stamps
        ):
            raise fail(
                "BadArgument",
                f"variable {item['variable']!r}: 'timestamps' and 'values' must be "
                "non-empty lists of one length.",
            )
        try:
            ts = np.array([parse_timestamp(t, i) for i, t in enumerate(stamps)], dtype=np.int64)
            y = np.array([parse_value(v, i) for i, v in enumerate(values)], dtype=np.float64)
        except InvalidInput as exc:
            raise fail("BadArgument", f"variable {item['variable']!r}: {exc.detail}") from None
        order = np.argsort(ts, kind="stable")
        members[item["variable"]] = Series(ts[order], y[order])
    try:
        return align(members)
    except InvalidInput as exc:
        raise fail("BadArgument", exc.detail) from None


def detect_last(service: TsadService, model_id: str, raw: bytes) -> dict[str, Any]:
    body = read_body(raw)
    model = service.groups.models.get(model_id)
    top = _top(body)
    aligned = _variables(body)
    try:
        scored = service.groups.models.score(model, aligned)
    except InvalidInput as exc:
        raise fail("BadArgument", exc.detail) from None
    idx = {v: j for j, v in enumerate(aligned.variables)}
    ratios = aligned.filled_ratio()
    states = variable_states(
        model.variables,
        tuple(ratios[idx[v]] for v in model.variables),
        (len(aligned), int(aligned.ts[0]), int(aligned.ts[-1])),
    )
    return {
        "variableStates": states,
        "results": anomaly_states(scored, range(len(scored) - 1, len(scored)), top),
    }
