"""Turning raw points into what models need: sorted, de-duplicated, on a regular
grid with gaps filled (linear interpolation), frequency inferred when not given.

Everything done is reported (``duplicates``, ``unsorted``, ``filled``) so the API
can tell the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from tsad.errors import NotEnoughPoints
from tsad.series import (
    BoolArray,
    FloatArray,
    IntArray,
    Series,
    clean,
    freq_alias,
    infer_step_ms,
    parse_freq,
    regularise,
)


@dataclass(frozen=True)
class Prepared:
    """A cleaned series and its regular-grid twin."""

    raw: Series  # sorted, de-duplicated input points
    regular: Series  # on the grid, gaps filled
    step_ms: int
    slots: IntArray  # grid index of each raw point
    observed: BoolArray  # grid slots that hold a raw point
    filled: int
    duplicates: int
    unsorted: bool

    @property
    def freq(self) -> str:
        return freq_alias(self.step_ms)


def prepare(
    ts: IntArray,
    y: FloatArray,
    *,
    freq: str | None = None,
    step_ms: int | None = None,
    min_points: int = 12,
) -> Prepared:
    """Clean and regularise; raise NotEnoughPoints below ``min_points`` distinct points."""
    cleaned = clean(ts, y)
    n = len(cleaned.series)
    if n < min_points:
        raise NotEnoughPoints(
            f"need at least {min_points} distinct points, got {n}", needed=min_points, got=n
        )
    if step_ms is None:
        step_ms = parse_freq(freq) if freq else infer_step_ms(cleaned.series.ts)
    reg = regularise(cleaned.series, step_ms)
    return Prepared(
        raw=cleaned.series,
        regular=reg.series,
        step_ms=step_ms,
        slots=reg.slots,
        observed=reg.observed,
        filled=reg.filled,
        duplicates=cleaned.duplicates,
        unsorted=cleaned.unsorted,
    )
