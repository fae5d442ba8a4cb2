"""Several series on one grid: the union of their timestamps at the group's step,
each member's gaps filled with its previous value (its first value before it
starts) and counted, so a response can say how much of each variable was filled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tsad.errors import InvalidInput
from tsad.series import FloatArray, IntArray, Series, infer_step_ms

#: a grid longer than this is refused (a typo'd step would allocate gigabytes)
MAX_GRID = 2_000_000


@dataclass(frozen=True)
class Aligned:
    """Members on one grid: ``values[:, j]`` is ``variables[j]``; ``filled[j]`` counts
    the slots of member j that were filled rather than observed."""

    ts: IntArray
    values: FloatArray
    variables: tuple[str, ...]
    filled: tuple[int, ...]
    step_ms: int

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def filled_ratio(self) -> list[float]:
        n = max(1, len(self))
        return [f / n for f in self.filled]


def _step(members: Sequence[Series]) -> int:
    steps = [infer_step_ms(s.ts) for s in members if len(s) >= 2]
    if not steps:
        raise InvalidInput("a group needs at least 2 points in one of its series")
    return int(min(steps))


def align(members: Mapping[str, Series], step_ms: int | None = None) -> Aligned:
    """Align ``members`` (name → series) on a grid of ``step_ms`` (inferred if None)."""
    if len(members) < 2:
        raise InvalidInput("a group needs at least 2 series")
    names = tuple(members)
    empty = [n for n in names if len(members[n]) == 0]
    if empty:
        raise InvalidInput(f"series without points: {', '.join(empty)}")
    step = step_ms or _step(list(members.values()))
    start = min(int(members[n].ts[0]) for n in names)
    end = max(int(members[n].ts[-1]) for n in names)
    size = (end - start) // step + 1
    if size > MAX_GRID:
        raise InvalidInput(f"the aligned grid would have {size} slots (step {step} ms)")
    ts = start + step * np.arange(size, dtype=np.int64)
    values = np.empty((size, len(names)), dtype=np.float64)
    filled = []
    for j, n in enumerate(names):
        s = members[n]
        slot = np.clip((s.ts - start + step // 2) // step, 0, size - 1)
        col = np.full(size, np.nan)
        col[slot] = s.y  # the last point of a slot wins
        seen = ~np.isnan(col)
        filled.append(int(size - seen.sum()))
        idx = np.where(seen, np.arange(size), 0)
        np.maximum.accumulate(idx, out=idx)
        col = col[idx]
        first = int(np.argmax(seen))
        col[:first] = col[first]
        values[:, j] = col
    return Aligned(ts, values, names, tuple(filled), int(step))
