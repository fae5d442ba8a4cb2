"""Remote write 1.0 bodies into tsad series: snappy → protobuf → (series id, arrays).

Snappy (block format, as the protocol specifies) is cramjam's; the ``WriteRequest``
is protobuf's, from ``remote.proto`` (generated ``remote_pb2``). Everything is
decoded and checked before anything is stored, so a malformed body stores nothing.

Series ids follow ``../shared/API.md``: the metric name, then the labels sorted by
name as ``name=value``, joined by ``,`` (``http_requests_total,code=200,job=api``).
Characters outside the id alphabet — and ``,``/``=`` inside a value, so an id reads
back unambiguously — become ``_``; labels with empty values are absent (as in
Prometheus). An id longer than 200 characters keeps a readable prefix and ends
in ``-`` plus 12 hex digits of a hash of the full label set.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import cramjam
import numpy as np
from google.protobuf.message import DecodeError

from tsad.errors import BadRequest, TooLarge
from tsad.integrations.remote_write.remote_pb2 import WriteRequest
from tsad.integrations.remote_write.select import Selector, keeps
from tsad.series import FloatArray, IntArray

MAX_ID = 200
HASH_HEX = 12
#: Prometheus's staleness marker: a NaN with this exact bit pattern
STALE_NAN_BITS = 0x7FF0000000000002
_MIN_MS, _MAX_MS = -62_135_596_800_000, 253_402_300_799_000  # years 1 to 9999
# the id alphabet less ',' and '=', which separate labels
_BAD = re.compile(r"[^A-Za-z0-9_.:-]")
#: why samples were not stored, as counted (``tsad_remote_write_samples_total{outcome}``)
SKIP_REASONS = ("stale", "nan", "infinite", "bad_timestamp", "filtered", "no_name", "series_limit")


@dataclass
class SeriesSamples:
    """The samples of one tsad series in one request (several Prometheus series may
    map to one id: their samples are joined)."""

    series_id: str
    ts: IntArray
    y: FloatArray


@dataclass
class DecodedWrite:
    """A decoded request: what to store, and what was skipped and why."""

    series: list[SeriesSamples]
    samples: int = 0  # float samples in the request
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))
    histograms: int = 0  # native histogram samples: not stored

    def skip(self, reason: str, n: int) -> None:
        if n:
            self.skipped[reason] += n


def decompress(body: bytes, max_bytes: int) -> bytes:
    """Snappy block format; the declared size is checked before anything is inflated."""
    if not body:
        raise BadRequest("the request body is empty; send a snappy-compressed WriteRequest")
    declared = _declared_length(body)
    if declared > max_bytes:
        raise TooLarge(
            f"the WriteRequest inflates to {declared} bytes, over the limit of {max_bytes} "
            "(TSAD_MAX_BODY_BYTES); lower max_samples_per_send",
            limit=max_bytes,
        )
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as exc:
        raise BadRequest(f"the body is not snappy-compressed (block format): {exc}") from None


def _declared_length(body: bytes) -> int:
    """The uncompressed length a snappy block starts with (a little-endian varint)."""
    length, shift = 0, 0
    for byte in body[:5]:
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            return length
        shift += 7
    raise BadRequest("the body is not snappy-compressed (block format): bad length header")


def parse_write_request(raw: bytes) -> WriteRequest:
    request = WriteRequest()
    try:
        request.ParseFromString(raw)
    except DecodeError as exc:
        raise BadRequest(f"the body is not a remote-write WriteRequest: {exc}") from None
    return request


def series_id_for(name: str, labels: Sequence[tuple[str, str]]) -> str:
    """The tsad series id of a metric name and its other labels (see the module doc)."""
    parts = [_BAD.sub("_", name) or "_"]
    parts += [f"{_BAD.sub('_', k)}={_BAD.sub('_', v)}" for k, v in sorted(labels) if v]
    sid = ",".join(parts)
    if len(sid) <= MAX_ID:
        return sid
    canonical = "\xff".join([name, *(f"{k}\xfe{v}" for k, v in sorted(labels) if v)])
    digest = hashlib.blake2b(canonical.encode(), digest_size=HASH_HEX // 2).hexdigest()
    return f"{sid[: MAX_ID - HASH_HEX - 1]}-{digest}"


def decode_write(body: bytes, selectors: Sequence[Selector], max_bytes: int) -> DecodedWrite:
    """Decode a remote-write body into series to append (see the module doc)."""
    request = parse_write_request(decompress(body, max_bytes))
    out = DecodedWrite(series=[])
    by_id: dict[str, SeriesSamples] = {}
    for series in request.timeseries:
        out.histograms += len(series.histograms)
        n = len(series.samples)
        if n == 0:
            continue
        out.samples += n
        labels = {label.name: label.value for label in series.labels}
        if not labels.get("__name__"):
            out.skip("no_name", n)
            continue
        if not keeps(selectors, labels):
            out.skip("filtered", n)
            continue
        name = labels.pop("__name__")
        samples = series.samples
        y = np.fromiter((s.value for s in samples), np.float64, n)
        ts = np.fromiter((s.timestamp for s in samples), np.int64, n)
        keep = _usable(out, ts, y)
        if not keep.all():
            ts, y = ts[keep], y[keep]
            if ts.shape[0] == 0:
                continue
        sid = series_id_for(name, list(labels.items()))
        known = by_id.get(sid)
        if known is None:
            by_id[sid] = SeriesSamples(sid, ts, y)
        else:
            known.ts = np.concatenate([known.ts, ts])
            known.y = np.concatenate([known.y, y])
    out.series = list(by_id.values())
    return out


def _usable(out: DecodedWrite, ts: IntArray, y: FloatArray) -> np.ndarray:
    """Mask of samples to store; the others are counted by reason."""
    finite = np.isfinite(y)
    in_range = (ts >= _MIN_MS) & (ts <= _MAX_MS)
    if finite.all() and in_range.all():
        return finite
    nan = np.isnan(y)
    stale = nan & (y.view(np.uint64) == STALE_NAN_BITS)
    out.skip("stale", int(stale.sum()))
    out.skip("nan", int((nan & ~stale).sum()))
    out.skip("infinite", int(np.isinf(y).sum()))
    out.skip("bad_timestamp", int((finite & ~in_range).sum()))
    mask: np.ndarray = finite & in_range
    return mask
