"""Small typed series-state records for the store tests."""

from __future__ import annotations

from tsad.state import BandRecord, SeriesMeta, SeriesState


def band(mean: list[float]) -> BandRecord:
    """A stored band of ``mean`` with a unit-wide interval, fitted at a fixed time."""
    return BandRecord(
        start=1_700_000_000_000,
        step_ms=60_000,
        level=99.0,
        mean=mean,
        lo=[m - 1.0 for m in mean],
        hi=[m + 1.0 for m in mean],
        model_used="stats:MSTL",
        fitted_at=1_700_000_000_000,
        history_last=1_699_999_940_000,
    )


def state(model: str | None = None, mean: list[float] | None = None) -> SeriesState:
    """A state with meta ``model`` and, when ``mean`` is given, a band."""
    return SeriesState(band=None if mean is None else band(mean), meta=SeriesMeta(model=model))
