"""JSON for what buffers store opaquely (series state, anomaly records), shared by
the Redis and embedded stores so both give back the same plain values."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np


def _json_default(obj: Any) -> Any:
    """State may carry numpy arrays/scalars: store them as plain JSON."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise NotImplementedError(f"cannot store {type(obj).__name__} in series state")


encoder = msgspec.json.Encoder(enc_hook=_json_default)


def decode_dict(raw: bytes) -> dict[str, Any]:
    """A stored JSON object back as a plain dict."""
    return dict(msgspec.json.decode(raw))
