"""What tsad keeps per series beside its points, as typed records.

Every store (memory, embedded, Redis) keeps a ``SeriesState`` per series and gives
it back as it was put (the embedded and Redis stores as msgspec JSON, so a restart or
another replica reads the same record). The records are frozen: a change is a new
record (``msgspec.structs.replace``), never an edit that a store's copy might or
might not see.

Stored JSON from before these types existed has the same field names and decodes
unchanged; an unknown field (from a newer tsad) is ignored.
"""

from __future__ import annotations

from typing import Any

import msgspec


class BandRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A stored band (``tsad.detect.online.StoredBand``) in storable form."""

    start: int
    step_ms: int
    level: float
    mean: list[float]
    lo: list[float]
    hi: list[float]
    model_used: str
    fitted_at: int  # wall clock, ms
    history_last: int
    # the seasonal reference per step; NaN stored as 1e308 (JSON has no NaN)
    ref: list[float] | None = None
    lower_bound: float | None = None


class SeriesMeta(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A series' settings as sent, its model metadata and its last fit error."""

    # what the client asked for
    step_ms: int | None = None
    freq_given: str | None = None
    model: str | None = None
    sensitivity: float | None = None
    # what the last fit did
    model_used: str | None = None
    degraded: bool | None = None
    freq: str | None = None
    fitted_at: int | None = None
    # set while the last fit failed (the fallback band serves the series)
    last_error: str | None = None
    failed_at: int | None = None
    # the feedback adaptation (``tsad.feedback.adapt.Adaptation.to_meta``)
    feedback: dict[str, Any] | None = None


class SeriesState(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Everything a store keeps for a series besides points, scorer, anomalies and
    feedback records: the band the hot path scores against, and the metadata."""

    band: BandRecord | None = None
    meta: SeriesMeta = msgspec.field(default_factory=SeriesMeta)


EMPTY = SeriesState()

_state_decoder = msgspec.json.Decoder(SeriesState)
_meta_decoder = msgspec.json.Decoder(SeriesMeta)


def decode_state(raw: bytes) -> SeriesState:
    """A stored state record back (the embedded and Redis stores)."""
    return _state_decoder.decode(raw)


def decode_meta(raw: bytes) -> SeriesMeta:
    """A stored meta record back (Redis keeps it apart for cheap listing)."""
    return _meta_decoder.decode(raw)
