"""Trained multivariate models (Azure's "multivariate models"): a fitted detector
over named variables, kept by id, and the results of batch runs against them.

The data a model trains or runs on comes from ``sources``: a tsad group, or a
wide CSV (a timestamp column, one column per variable) under a directory or URL
prefix the settings allow (``TSAD_MV_DATA_DIRS``) — never an arbitrary file.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import numpy as np

from tsad.errors import InvalidInput, SeriesNotFound
from tsad.multivariate.align import Aligned, align
from tsad.multivariate.detector import DEFAULT_DETECTOR, MultiScored
from tsad.multivariate.scoring import GroupModel, score_aligned
from tsad.series import Series

if TYPE_CHECKING:
    from tsad.multivariate.groups import GroupService

MAX_MODELS = 300
MAX_RESULTS = 1_000
GROUP_PREFIXES = ("tsad://groups/", "group:")


@dataclass
class TrainedModel:
    """A fitted detector over ``variables``, trained on ``source`` from start to end."""

    model_id: str
    source: str
    variables: tuple[str, ...]
    fitted: GroupModel
    created_ms: int
    start: int | None
    end: int | None
    display_name: str | None
    sliding_window: int
    filled_ratio: tuple[float, ...]
    counts: tuple[int, int, int]  # rows, first ts, last ts


@dataclass
class BatchResult:
    """One asynchronous batch run: its status, then its rows."""

    result_id: str
    model_id: str
    setup: dict[str, Any]
    status: str = "CREATED"
    errors: list[dict[str, str]] = field(default_factory=list)
    scored: MultiScored | None = None
    top: int = 10
    aligned: Aligned | None = None


def read_wide_csv(text: str) -> Aligned:
    """A wide CSV (first column: timestamps; then one column per variable) aligned."""
    import io

    import pandas as pd

    try:
        df = pd.read_csv(io.StringIO(text))
    except Exception as exc:  # pandas raises many kinds for a malformed file
        raise InvalidInput(f"the data source is not a readable CSV: {exc}") from None
    if df.shape[1] < 3:
        raise InvalidInput("a multivariate CSV has a timestamp column and 2+ variables")
    stamps = pd.to_datetime(df.iloc[:, 0], utc=True, errors="coerce")
    if stamps.isna().any():
        raise InvalidInput("the CSV's first column must hold timestamps")
    ts = stamps.dt.tz_localize(None).to_numpy().astype("datetime64[ms]").astype(np.int64)
    members: dict[str, Series] = {}
    for col in df.columns[1:]:
        y = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)
        ok = np.isfinite(y)
        order = np.argsort(ts[ok], kind="stable")
        members[str(col)] = Series(ts[ok][order], y[ok][order])
    return align(members)


class TrainedModels:
    """Models and batch results, held by ``GroupService`` (``service.groups.models``)."""

    def __init__(self, groups: GroupService, allowed: Sequence[str]) -> None:
        self.groups = groups
        self.allowed = tuple(allowed)
        self.models: dict[str, TrainedModel] = {}
        self.results: dict[str, BatchResult] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def source(self, src: str, start: int | None, end: int | None) -> Aligned:
        """The rows of a data source between ``start`` and ``end``."""
        for prefix in GROUP_PREFIXES:
            if src.startswith(prefix):
                g = await self.groups.lookup(src[len(prefix) :])
                return await self.groups.aligned(g.series, start, end)
        if not any(src.startswith(a) for a in self.allowed):
            raise InvalidInput(
                "dataSource must be a tsad group (tsad://groups/NAME) or a CSV under a "
                "location TSAD_MV_DATA_DIRS allows"
            )
        if src.startswith(("http://", "https://")):
            import httpx

            async with httpx.AsyncClient(timeout=30.0) as client:
                resp = await client.get(src)
            if resp.status_code != 200:
                raise InvalidInput(f"dataSource answered HTTP {resp.status_code}")
            text = resp.text
        else:
            path = Path(src.removeprefix("file://")).resolve()
            if not any(
                path.is_relative_to(Path(a.removeprefix("file://")).resolve()) for a in self.allowed
            ):
                raise InvalidInput("dataSource is outside the allowed directories")
            if not path.is_file():
                raise InvalidInput(f"dataSource {src!r} is not a file")
            text = await anyio.Path(path).read_text()
        aligned = read_wide_csv(text)
        keep = np.ones(len(aligned), dtype=bool)
        if start is not None:
            keep &= aligned.ts >= start
        if end is not None:
            keep &= aligned.ts <= end
        return Aligned(
            aligned.ts[keep],
            aligned.values[keep],
            aligned.variables,
            aligned.filled,
            aligned.step_ms,
        )

    async def train(
        self,
        src: str,
        start: int | None,
        end: int | None,
        display_name: str | None,
        sliding_window: int,
    ) -> TrainedModel:
        if len(self.models) >= MAX_MODELS:
            raise InvalidInput(f"at most {MAX_MODELS} models; delete one first")
        aligned = await self.source(src, start, end)
        from tsad.multivariate.groups import WARMUP_ROWS, robust_fit

        if len(aligned) < max(sliding_window, WARMUP_ROWS):
            raise InvalidInput(
                f"training needs at least {max(sliding_window, WARMUP_ROWS)} rows, "
                f"got {len(aligned)}"
            )
        det = await anyio.to_thread.run_sync(lambda: robust_fit(DEFAULT_DETECTOR, aligned))
        model = TrainedModel(
            model_id=str(uuid.uuid4()),
            source=src,
            variables=aligned.variables,
            fitted=det,
            created_ms=int(time.time() * 1000),
            start=start,
            end=end,
            display_name=display_name,
            sliding_window=sliding_window,
            filled_ratio=tuple(aligned.filled_ratio()),
            counts=(len(aligned), int(aligned.ts[0]), int(aligned.ts[-1])),
        )
        self.models[model.model_id] = model
        return model

    def get(self, model_id: str) -> TrainedModel:
        m = self.models.get(model_id)
        if m is None:
            raise SeriesNotFound(f"model {model_id} does not exist")
        return m

    def delete(self, model_id: str) -> None:
        self.get(model_id)
        del self.models[model_id]

    def score(self, model: TrainedModel, aligned: Aligned) -> MultiScored:
        """Rows scored with the model (its variables, in its order)."""
        cols = {v: j for j, v in enumerate(aligned.variables)}
        missing = [v for v in model.variables if v not in cols]
        if missing:
            raise InvalidInput(f"variables missing from the data: {', '.join(missing)}")
        idx = [cols[v] for v in model.variables]
        sub = Aligned(
            aligned.ts,
            aligned.values[:, idx],
            model.variables,
            tuple(aligned.filled[j] for j in idx),
            aligned.step_ms,
        )
        return score_aligned(sub, model.fitted)

    def submit(
        self,
        model: TrainedModel,
        src: str,
        start: int | None,
        end: int | None,
        top: int,
        setup: dict[str, Any],
    ) -> BatchResult:
        """Queue a batch run (answered at once; the run happens in the background)."""
        if len(self.results) >= MAX_RESULTS:
            self.results.pop(next(iter(self.results)))
        res = BatchResult(str(uuid.uuid4()), model.model_id, setup, top=top)
        self.results[res.result_id] = res

        async def run() -> None:
            res.status = "RUNNING"
            try:
                aligned = await self.source(src, start, end)
                res.aligned = aligned
                res.scored = await anyio.to_thread.run_sync(lambda: self.score(model, aligned))
                res.status = "READY"
            except Exception as exc:  # the run's error is its result
                res.status = "FAILED"
                res.errors = [{"code": "InvalidInput", "message": getattr(exc, "detail", str(exc))}]

        task = asyncio.create_task(run(), name=f"tsad-mv-batch-{res.result_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return res

    def result(self, result_id: str) -> BatchResult:
        r = self.results.get(result_id)
        if r is None:
            raise SeriesNotFound(f"result {result_id} does not exist")
        return r

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
