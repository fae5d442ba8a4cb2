"""Decoding at the edge: request bodies and query parameters into typed values.

Bodies are decoded here rather than by Litestar's signature model so each
failure gets the status that fits: not JSON → 415, empty or malformed → 400,
wrong shapes or types → 422 naming the field (msgspec's path, e.g. ``$.h``).
``NaN``/``Infinity`` literals are not JSON, but Python's ``json.dumps`` emits
them: such bodies are re-read leniently so the answer says which *value* was
bad (422) instead of calling the whole body malformed.
"""

from __future__ import annotations

import json
import math
from typing import Any, TypeVar

import msgspec
import numpy as np
from litestar import Request

from tsad.errors import BadRequest, InvalidInput, UnsupportedMediaType
from tsad.limits import check_points
from tsad.series import FloatArray, IntArray, parse_points, parse_timestamp

T = TypeVar("T")

_NUMERIC_PAIRS = list[tuple[float, float]]
_NUMBER = (int, float)  # exact types: bool is an int subclass and is not a number here
_SMALL = 8  # batches up to this many points take the plain-Python path
_MIN_MS, _MAX_MS = -62_135_596_800_000, 253_402_300_799_000  # years 1 to 9999, as parse_timestamp


def check_json_content_type(content_type: str | None) -> None:
    """Accept ``application/json``, ``*/*+json`` or no content type at all."""
    if not content_type:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return
    raise UnsupportedMediaType(
        f"the body must be JSON; got Content-Type {media!r}. Send 'Content-Type: application/json'."
    )


def decode_json(body: bytes, type_: type[T]) -> T:
    """Decode a JSON body into ``type_`` or raise a ClientError saying what is wrong."""
    if not body.strip():
        raise BadRequest("the request body is empty; send a JSON object")
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"invalid request body: {exc}") from None
    except msgspec.DecodeError as exc:
        lenient = _lenient(body)
        if lenient is None:
            raise BadRequest(f"the request body is not valid JSON: {exc}") from None
    try:
        return msgspec.convert(lenient, type=type_)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"invalid request body: {exc}") from None


def _lenient(body: bytes) -> Any:
    """The body as Python's json reads it (NaN, Infinity allowed), or None."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


async def read_json(request: Request[Any, Any, Any], type_: type[T]) -> T:
    """Check the content type, read the body (size-limited by the app), decode it."""
    check_json_content_type(request.headers.get("content-type"))
    return decode_json(await request.body(), type_)


def points_arrays(points: list[Any]) -> tuple[IntArray, FloatArray]:
    """``parse_points``, with a vectorised path for ``[epoch_seconds, value]`` pairs.

    Monitoring agents mostly send numeric pairs; converting them in C and checking
    them with numpy is ~6x faster than the per-point parser. Anything else (strings,
    objects, nulls, out-of-range stamps) goes to ``parse_points``, which names the
    first bad point.
    """
    if len(points) <= _SMALL:
        small = _small_pairs(points)
        return small if small is not None else parse_points(points)
    try:
        pairs = msgspec.convert(points, _NUMERIC_PAIRS)
    except msgspec.ValidationError:
        return parse_points(points)
    arr = np.array(pairs, dtype=np.float64).reshape(-1, 2)
    with np.errstate(invalid="ignore", over="ignore"):
        ms = np.rint(arr[:, 0] * 1000.0)  # round half to even, like parse_timestamp's round()
        ok = np.isfinite(arr).all() and bool(((ms >= _MIN_MS) & (ms <= _MAX_MS)).all())
    if not ok:
        return parse_points(points)
    return ms.astype(np.int64), np.ascontiguousarray(arr[:, 1])


def _small_pairs(points: list[Any]) -> tuple[IntArray, FloatArray] | None:
    """A few numeric ``[t, v]`` pairs converted in plain Python (what a single-point post
    sends: numpy's per-call overhead is most of the cost there), or None for anything
    the general path must look at. Same rounding and range rule as the vectorised path."""
    stamps: list[int] = []
    values: list[float] = []
    for point in points:
        if type(point) is not list or len(point) != 2:
            return None
        t, v = point
        if type(t) not in _NUMBER or type(v) not in _NUMBER:
            return None
        scaled = float(t) * 1000.0
        value = float(v)
        if not (math.isfinite(scaled) and math.isfinite(value)):
            return None
        ms = round(scaled)  # round half to even, like np.rint
        if not _MIN_MS <= ms <= _MAX_MS:
            return None
        stamps.append(ms)
        values.append(value)
    return np.array(stamps, np.int64), np.array(values, np.float64)


def inline_points(points: list[Any] | None, limit: int) -> tuple[IntArray, FloatArray] | None:
    """Inline points parsed, the per-request limit checked first (parsing is the cost)."""
    if points is None:
        return None
    check_points(len(points), limit)
    return points_arrays(points)


def query_timestamp(raw: str | None, name: str) -> int | None:
    """A ``start``/``end`` query value: RFC 3339 or epoch seconds → epoch ms."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    try:
        if number is not None and math.isfinite(number):
            return parse_timestamp(number)
        return parse_timestamp(text)
    except InvalidInput as exc:
        raise InvalidInput(f"query parameter {name!r}: {exc.detail}") from None


def query_range(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """Both bounds parsed; ``start`` after ``end`` is an error, not an empty answer."""
    lo, hi = query_timestamp(start, "start"), query_timestamp(end, "end")
    if lo is not None and hi is not None and lo > hi:
        raise InvalidInput("query parameter 'start' is after 'end'")
    return lo, hi
