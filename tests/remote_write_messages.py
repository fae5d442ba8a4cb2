"""Remote-write request bodies built with protobuf and cramjam, for tests and benchmarks."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence

import cramjam

from tsad.integrations.remote_write.remote_pb2 import WriteRequest

STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def write_request(
    series: Iterable[tuple[Mapping[str, str], Sequence[tuple[int, float]]]],
) -> WriteRequest:
    """A WriteRequest of (labels, [(timestamp ms, value), ...]) per series."""
    request = WriteRequest()
    for labels, samples in series:
        ts = request.timeseries.add()
        for name in sorted(labels):
            label = ts.labels.add()
            label.name, label.value = name, labels[name]
        for stamp, value in samples:
            sample = ts.samples.add()
            sample.timestamp, sample.value = stamp, value
    return request


def snappy_body(request: WriteRequest) -> bytes:
    """What Prometheus posts: the serialised request, snappy block-compressed."""
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


HEADERS = {
    "content-type": "application/x-protobuf",
    "content-encoding": "snappy",
    "x-prometheus-remote-write-version": "0.1.0",
}
