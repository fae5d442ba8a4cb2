"""TimeGPT's wire protocol (as the ``nixtla`` SDK 0.9.x speaks it), answered by
tsad's local models.

The SDK sends every series of a call concatenated: ``series.y`` holds all values,
``series.sizes`` the length of each series; it keeps timestamps to itself and
rebuilds them from ``freq``, so answers carry values only, in the order asked:

* forecast → ``mean`` (h per series), ``intervals`` ``{"lo-80": [...], "hi-80": [...]}``
  or null when no level was asked;
* cross_validation → also ``idxs`` (positions in ``series.y`` of each forecast
  point, ``h`` per window) and ``sizes`` (points answered per series); with
  ``full_history`` (the SDK's ``add_history``) the in-sample fit of each series' tail;
* anomaly_detection → the in-sample band, ``sizes`` and ``anomaly`` flags;
* online_anomaly_detection → the last ``detection_size`` points of each series,
  each forecast only from the points before its window: ``idxs``, ``sizes``,
  ``mean``, ``intervals``, ``anomaly``, ``anomaly_score`` (tsad's score in [0, 1]).

Models: a local model of tsad's catalogue in ``model`` (``auto``, ``stats``, ``nhits``...)
is used as is; TimeGPT names (``timegpt-1``, ``timegpt-2.1``,
``azureai``...) and ``timegpt`` itself map to ``auto``: a compatible server
never calls the cloud. Exogenous features and fine-tuning are accepted and ignored.

This module holds the wire types and decodes and validates requests;
``timegpt_answers`` answers them through ``TsadService``. No web framework here:
``tsad.api.routes.timegpt`` does the HTTP.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec
import numpy as np

from tsad.errors import (
    BadRequest,
    InvalidInput,
    TooLarge,
)
from tsad.limits import check_count, check_points
from tsad.models.catalogue import local_models
from tsad.series import (
    parse_freq,
    season_length,
)
from tsad.settings import ApiSettings, ModelSettings

# a month: non-seasonal for tsad's models, used for calendar frequencies ("MS", "W-SUN")
_CALENDAR_STEP_MS = 30 * 86_400_000


class SeriesPayload(msgspec.Struct, kw_only=True):
    y: list[float]
    sizes: list[int]
    X: Any = None
    X_future: Any = None
    start_datetime: list[str] | None = None


class ForecastRequest(msgspec.Struct, kw_only=True):
    series: SeriesPayload
    h: int
    freq: str = "h"
    model: str = "auto"
    level: list[float] | None = None


class CrossValidationRequest(ForecastRequest, kw_only=True):
    n_windows: int = 1
    step_size: int | None = None
    full_history: bool = False


class AnomalyRequest(msgspec.Struct, kw_only=True):
    series: SeriesPayload
    freq: str = "h"
    model: str = "auto"
    level: float = 99.0


class OnlineAnomalyRequest(msgspec.Struct, kw_only=True):
    series: SeriesPayload
    h: int
    detection_size: int
    freq: str = "h"
    model: str = "auto"
    level: float = 99.0
    step_size: int | None = None
    threshold_method: str = "univariate"


R = TypeVar("R", ForecastRequest, CrossValidationRequest, AnomalyRequest, OnlineAnomalyRequest)


# --------------------------------------------------------------------------- decoding


def decompress(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo the SDK's zstd compression (bodies over 1 MiB), refusing bombs."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "zstd":
        raise BadRequest(f"unsupported content-encoding {content_encoding!r}; use zstd")
    import zstandard

    reader = zstandard.ZstdDecompressor().decompressobj()
    try:
        out = reader.decompress(body)
    except zstandard.ZstdError as exc:
        raise BadRequest(f"body is not valid zstd: {exc}") from None
    if len(out) > max_bytes:
        raise TooLarge(f"decompressed body exceeds {max_bytes} bytes")
    return out


def decode(body: bytes, kind: type[R], limits: ApiSettings) -> R:
    """JSON → request struct, validated: sizes add up, values finite, within limits."""
    try:
        req = msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"invalid {_NAMES[kind]} request: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    s = req.series
    if not s.sizes or min(s.sizes) < 1 or sum(s.sizes) != len(s.y):
        raise InvalidInput("series.sizes must be positive and add up to len(series.y)")
    check_count(len(s.sizes), limits.max_series_per_request, "series")
    check_points(len(s.y), limits.max_points_per_request)
    if not np.isfinite(np.asarray(s.y, np.float64)).all():
        raise InvalidInput("series.y must be finite numbers (no NaN or infinity)")
    if (
        isinstance(req, ForecastRequest | CrossValidationRequest | OnlineAnomalyRequest)
        and req.h < 1
    ):
        raise InvalidInput(f"h must be >= 1, got {req.h}")
    return req


_NAMES: dict[type[Any], str] = {
    ForecastRequest: "forecast",
    CrossValidationRequest: "cross_validation",
    AnomalyRequest: "anomaly_detection",
    OnlineAnomalyRequest: "online_anomaly_detection",
}


def local_model(requested: str) -> str:
    """The tsad model a request's ``model`` names (TimeGPT names → ``auto``)."""
    name = requested.strip().lower()
    return name if name in local_models() else "auto"


def step_for_freq(freq: str) -> int:
    """A fixed-length pandas alias → its step; calendar ones (MS, W-SUN) → non-seasonal."""
    with warnings.catch_warnings():
        # pandas deprecates 'H'/'T' aliases; the SDK passes the caller's freq through
        warnings.simplefilter("ignore", FutureWarning)
        try:
            return parse_freq(freq)
        except InvalidInput:
            return _CALENDAR_STEP_MS


def wire_levels(raw: Sequence[float] | None) -> list[float]:
    out: list[float] = []
    for level in raw or ():
        if not 0 <= level < 100:
            raise InvalidInput(f"level must be in [0, 100), got {level}")
        # statsforecast names columns after the value it was given: 80, not 80.0
        out.append(int(level) if float(level).is_integer() else float(level))
    return sorted(set(out))


# --------------------------------------------------------------------------- jobs

REQUEST_TYPES: dict[str, type[Any]] = {name: kind for kind, name in _NAMES.items()}


def model_params(freq: str, settings: ModelSettings) -> dict[str, int]:
    """``input_size``: how much history the SDK sends (it sends ``3·input_size + h`` with
    levels), a week of seasons for the stats model; ``horizon``: one season."""
    season = season_length(step_for_freq(freq))
    input_size = min(max(7 * season, 4 * settings.min_points), max(settings.fit_window // 3, 1))
    return {"input_size": int(input_size), "horizon": int(min(max(season, 12), 1440))}
