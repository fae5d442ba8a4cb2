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


class SeriesIds:
    """Label set → series id (or why it is skipped), remembered between requests:
    Prometheus sends the same series every scrape. Bounded: emptied when full."""

    def __init__(self, selectors: Sequence[Selector] = (), size: int = 200_000) -> None:
        self.selectors = list(selectors)
        self.size = size
        self._ids: dict[tuple[tuple[str, str], ...], str] = {}

    def get(self, key: tuple[tuple[str, str], ...]) -> str:
        """The series id, or ``NO_NAME`` / ``FILTERED``."""
        sid = self._ids.get(key)
        if sid is None:
            labels = dict(key)
            name = labels.pop("__name__", "")
            if not name:
                sid = NO_NAME
            elif not keeps(self.selectors, {**labels, "__name__": name}):
                sid = FILTERED
            else:
                sid = series_id_for(name, list(labels.items()))
            if len(self._ids) >= self.size:
                self._ids.clear()
            self._ids[key] = sid
        return sid


# not valid series ids, so they cannot collide with one
NO_NAME, FILTERED = "/no_name", "/filtered"


def decode_write(
    body: bytes, selectors: Sequence[Selector] | SeriesIds, max_bytes: int
) -> DecodedWrite:
    """Decode a remote-write body into series to append (see the module doc)."""
    request = parse_write_request(decompress(body, max_bytes))
    ids = selectors if isinstance(selectors, SeriesIds) else SeriesIds(selectors)
    out = DecodedWrite(series=[])
    all_series = request.timeseries
    counts = [len(series.samples) for series in all_series]
    out.histograms = sum(len(series.histograms) for series in all_series)
    total = sum(counts)
    out.samples = total
    # every sample of the request in one pass (each Sample read makes a Python object,
    # the cost that counts) into one array: per-series numpy calls would cost more than
    # the samples when a request is one scrape (one sample per series)
    values: list[float] = []
    stamps: list[int] = []
    add_value, add_stamp = values.append, stamps.append
    for series in all_series:
        for sample in series.samples:
            add_value(sample.value)
            add_stamp(sample.timestamp)
    y = np.array(values, np.float64)
    ts = np.array(stamps, np.int64)
    sids = [
        ids.get(tuple((label.name, label.value) for label in series.labels)) if n else NO_NAME
        for series, n in zip(all_series, counts, strict=True)
    ]
    kept = np.fromiter((sid[0] != "/" for sid in sids), bool, len(sids))
    for sid, n in zip(sids, counts, strict=True):
        if n and sid in (NO_NAME, FILTERED):
            out.skip("no_name" if sid == NO_NAME else "filtered", n)
    usable, clean = _usable(out, ts, y, np.repeat(kept, counts))
    by_id: dict[str, SeriesSamples] = {}
    at = 0
    for sid, n in zip(sids, counts, strict=True):
        lo, at = at, at + n
        if sid[0] == "/":
            continue
        if clean:
            sts, sy = ts[lo:at], y[lo:at]
        else:
            mask = usable[lo:at]
            sts, sy = ts[lo:at][mask], y[lo:at][mask]
            if sts.shape[0] == 0:
                continue
        known = by_id.get(sid)
        if known is None:
            by_id[sid] = SeriesSamples(sid, sts, sy)
        else:
            known.ts = np.concatenate([known.ts, sts])
            known.y = np.concatenate([known.y, sy])
    out.series = list(by_id.values())
    return out


def _usable(
    out: DecodedWrite, ts: IntArray, y: FloatArray, kept: np.ndarray
) -> tuple[np.ndarray, bool]:
    """Mask of samples to store (of the kept series), and whether that is every sample
    of the kept series; the others are counted by reason."""
    finite = np.isfinite(y)
    in_range = (ts >= _MIN_MS) & (ts <= _MAX_MS)
    good: np.ndarray = kept & finite & in_range
    if bool((good == kept).all()):
        return good, True
    y, finite, in_range = y[kept], finite[kept], in_range[kept]
    nan = np.isnan(y)
    stale = nan & (y.view(np.uint64) == STALE_NAN_BITS)
    out.skip("stale", int(stale.sum()))
    out.skip("nan", int((nan & ~stale).sum()))
    out.skip("infinite", int(np.isinf(y).sum()))
    out.skip("bad_timestamp", int((finite & ~in_range).sum()))
    return good, False
