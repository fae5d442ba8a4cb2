"""Compact point blobs for the embedded store: one sorted run of (ts, value) pairs.

Layout (little-endian): ``n`` u32, ``first`` i64, ``step`` i64, then the timestamps
— nothing more when they are regular (``step`` > 0, the usual case for metrics),
else ``zlib`` of the int64 deltas, length-prefixed (u32) — then ``n`` float64 values.
Regular series cost 8 bytes a point plus 20 per blob; values are kept bit-exact.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from tsad.series import FloatArray, IntArray

_HEAD = struct.Struct("<Iqq")
_LEN = struct.Struct("<I")


def encode(ts: IntArray, y: FloatArray) -> bytes:
    """A sorted run of points as one blob."""
    n = int(ts.shape[0])
    first = int(ts[0]) if n else 0
    values = np.ascontiguousarray(y, "<f8").tobytes()
    if n > 1:
        deltas = np.diff(ts)
        step = int(deltas[0])
        if step > 0 and bool((deltas == step).all()):
            return _HEAD.pack(n, first, step) + values
        packed = zlib.compress(deltas.astype("<i8").tobytes(), 1)
        return _HEAD.pack(n, first, 0) + _LEN.pack(len(packed)) + packed + values
    return _HEAD.pack(n, first, 1) + values


def decode(blob: bytes) -> tuple[IntArray, FloatArray]:
    """The points of one blob as native int64 / float64 arrays."""
    n, first, step = _HEAD.unpack_from(blob, 0)
    at = _HEAD.size
    if step > 0:
        ts = first + step * np.arange(n, dtype=np.int64)
    else:
        (size,) = _LEN.unpack_from(blob, at)
        at += _LEN.size
        deltas = np.frombuffer(zlib.decompress(blob[at : at + size]), "<i8")
        at += size
        ts = np.empty(n, np.int64)
        ts[0] = first
        np.cumsum(deltas, out=ts[1:])
        ts[1:] += first
    y = np.frombuffer(blob, "<f8", count=n, offset=at).astype(np.float64)
    return ts, y
