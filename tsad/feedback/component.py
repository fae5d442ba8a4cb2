"""``FeedbackDesk``: what ``TsadService`` holds for operator feedback.

Records labels (``tsad.feedback.records``), keeps each series' adaptation in its
state meta (``meta['feedback']``, read by the hot path with the rest of the meta),
and keeps the learned ranker fresh: retrained on a schedule in a thread, never on
the event loop, and asked for ``p_true`` when an alert fires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from msgspec.structs import replace

from tsad.detect.incidents import Incident
from tsad.errors import FeedbackNotFound, SeriesNotFound
from tsad.feedback.adapt import Adaptation, adapt, labelled_context, logit, offset_at
from tsad.feedback.features import AlertContext, alert_features
from tsad.feedback.ranker import RankerStatus, TrainedRanker, train
from tsad.feedback.records import FeedbackInput, appended, check_input, matching, new_record
from tsad.series import check_series_id
from tsad.state import EMPTY, SeriesState

if TYPE_CHECKING:
    from tsad.service import TsadService

log = logging.getLogger("tsad.feedback")
ALERT_LABELS = ("false_positive", "true_positive")


def adaptation_of(state: SeriesState) -> Adaptation:
    """A series' adaptation as its state meta holds it."""
    return Adaptation.from_meta(state.meta.feedback)


class FeedbackDesk:
    """Feedback operations over the service's buffer, and the ranker's schedule."""

    def __init__(self, service: TsadService) -> None:
        self.service = service
        self.settings = service.settings.feedback
        self.ranker: TrainedRanker | None = None
        self.status = RankerStatus(False, "not trained yet", 0, 0)
        self.suppressed = 0
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # ----------------------------------------------------------------- records

    async def _exists(self, series_id: str) -> None:
        check_series_id(series_id)
        if await self.service.buffer.info(series_id) is None:
            raise SeriesNotFound(f"series {series_id!r} does not exist")

    async def add(
        self, series_id: str, item: FeedbackInput, now_ms: int | None = None
    ) -> dict[str, Any]:
        """Record one label; returns the stored record (with its id)."""
        item = check_input(item)
        await self._exists(series_id)
        now = int(time.time() * 1000) if now_ms is None else now_ms
        peak = features = context = None
        if item.label in ALERT_LABELS:
            found = await self._labelled_alert(series_id, item)
            if found is not None:
                peak, features, context = found
        record = new_record(item, now, peak_log_odds=peak, features=features, context=context)
        async with self._lock:
            records = await self.service.buffer.get_feedback(series_id)
            records = appended(records, record)
            await self.service.buffer.put_feedback(series_id, records)
            await self._readapt(series_id, records)
        return record

    async def records(
        self,
        series_id: str,
        *,
        label: str | None = None,
        start: int | None = None,
        end: int | None = None,
        author: str | None = None,
    ) -> list[dict[str, Any]]:
        await self._exists(series_id)
        records = await self.service.buffer.get_feedback(series_id)
        return matching(records, label=label, start=start, end=end, author=author)

    async def delete(self, series_id: str, feedback_id: str) -> None:
        await self._exists(series_id)
        async with self._lock:
            records = await self.service.buffer.get_feedback(series_id)
            kept = [r for r in records if r["id"] != feedback_id]
            if len(kept) == len(records):
                raise FeedbackNotFound(f"series {series_id!r} has no feedback {feedback_id!r}")
            await self.service.buffer.put_feedback(series_id, kept)
            await self._readapt(series_id, kept)

    async def reset(self, series_id: str) -> Adaptation:
        """Undo the series' adaptation; its labels stay (the ranker still learns from them)."""
        await self._exists(series_id)
        async with self._lock:
            records = await self.service.buffer.get_feedback(series_id)
            records = [{**r, "adapts": False} for r in records]
            await self.service.buffer.put_feedback(series_id, records)
            return await self._readapt(series_id, records)

    async def _readapt(self, series_id: str, records: Sequence[dict[str, Any]]) -> Adaptation:
        state = await self.service.buffer.get_state(series_id) or EMPTY
        base = self.service.base_sensitivity(state)
        from tsad.detect.threshold import threshold_log_odds

        step = int(state.meta.step_ms or 60_000)
        adaptation = adapt(records, threshold_log_odds(base), step_ms=step)
        meta = replace(state.meta, feedback=adaptation.to_meta())
        await self.service.buffer.put_state(series_id, replace(state, meta=meta))
        return adaptation

    # ----------------------------------------------------------------- alert features

    async def _context(
        self,
        series_id: str,
        before: int,
        incidents: list[Incident],
        first: dict[str, Any] | None = None,
    ) -> Any:
        """The series as it was when the alert whose first flag is ``first`` (at
        ``before``) fired."""
        state = await self.service.buffer.get_state(series_id) or EMPTY
        step = int(state.meta.step_ms or 60_000)
        from tsad.detect.threshold import threshold_log_odds

        base = threshold_log_odds(self.service.base_sensitivity(state))
        records = await self.service.buffer.get_feedback(series_id)
        earlier = [i for i in incidents if i.start < before]
        past = await self.service.buffer.window(series_id, None, before - 1)
        seen = past.y[np.isfinite(past.y)]
        first = first or {}
        spread = first.get("spread")
        # the threshold the alert met when it fired (labels made since do not count)
        offset, then = offset_at(records, base, before, step, first if first else None)
        return AlertContext(
            step_ms=step,
            earlier_starts=[i.start for i in earlier],
            earlier_ends=[i.end for i in earlier],
            prior_labels=[r["label"] for r in records if int(r["end"]) < before],
            threshold_log_odds=base + offset,
            offset=offset,
            value=float(first.get("value", math.nan)),
            spread=float(spread) if spread is not None else math.nan,
            seen_low=float(seen.min()) if seen.shape[0] else math.nan,
            seen_high=float(seen.max()) if seen.shape[0] else math.nan,
            signatures=then.signatures,
        )

    async def _labelled_alert(
        self, series_id: str, item: FeedbackInput
    ) -> tuple[float, dict[str, float], dict[str, float] | None] | None:
        """The peak log-odds of the flags in the labelled range, the features of the
        incident they belong to at its first flag, and what that incident looked like
        (``labelled_context``); None when nothing was flagged."""
        incidents = await self.service.incidents(series_id, None, None)
        end = item.end if item.end is not None else item.start
        hit = [i for i in incidents if i.end >= item.start and i.start <= end]
        if not hit:
            return None
        top = max(hit, key=lambda i: i.peak_score)
        flags = await self.service.buffer.anomalies(series_id, top.start, top.end)
        row = flags[0] if flags else {"score": top.peak_score, "severity": 0.0}
        ctx = await self._context(series_id, top.start, incidents, row)
        features = alert_features(
            top.start,
            float(row["score"]),
            float(row.get("severity", 0.0)),
            top.direction,
            ctx,
        )
        return logit(max(i.peak_score for i in hit)), features, labelled_context(flags)

    async def rank(self, series_id: str, incidents: Sequence[Incident]) -> list[float | None]:
        """The ranker's p_true of each incident's alert (as it fired: its first flag and
        the series as it was then); all None while the ranker is off."""
        ranker = self.ranker
        if ranker is None or not incidents:
            return [None] * len(incidents)
        every = await self.service.incidents(series_id, None, None)
        flags = {int(r["ts"]): r for r in await self.service.anomalies(series_id, None, None)}
        rows = []
        for inc in incidents:
            first = flags.get(inc.start, {"score": inc.peak_score, "severity": 0.0})
            ctx = await self._context(series_id, inc.start, every, first)
            rows.append(
                alert_features(
                    inc.start,
                    float(first["score"]),
                    float(first.get("severity", 0.0)),
                    inc.direction,
                    ctx,
                )
            )
        return [float(p) for p in ranker.p_true(rows)]

    async def p_true(
        self, series_id: str, ts: int, score: float, severity: float, direction: int
    ) -> float | None:
        """The ranker's probability that an alert firing now is real; None while it is off."""
        ranker = self.ranker
        if ranker is None:
            return None
        incidents = await self.service.incidents(series_id, None, ts - 1)
        first = await self.service.buffer.anomalies(series_id, ts, ts)
        ctx = await self._context(series_id, ts, incidents, first[0] if first else None)
        row = alert_features(ts, score, severity, direction, ctx)
        return float(ranker.p_true([row])[0])

    def suppress(self, p_true: float | None) -> bool:
        """Whether an alert with this ``p_true`` is held back (and count it)."""
        cut = self.settings.suppress_below
        if p_true is None or cut <= 0.0 or p_true >= cut:
            return False
        self.suppressed += 1
        return True

    # ----------------------------------------------------------------- training

    async def training_set(self) -> tuple[list[dict[str, float]], list[bool]]:
        rows: list[dict[str, float]] = []
        truth: list[bool] = []
        for info in await self.service.buffer.list_series():
            for r in await self.service.buffer.get_feedback(info.series_id):
                if r["label"] in ALERT_LABELS and r.get("features"):
                    rows.append(r["features"])
                    truth.append(r["label"] == "true_positive")
        return rows, truth

    async def train(self) -> RankerStatus:
        """Retrain the ranker on every labelled alert (the fit runs in a thread)."""
        rows, truth = await self.training_set()
        s = self.settings
        result = await asyncio.to_thread(
            train, rows, truth, min_labels=s.min_labels, min_per_class=s.min_per_class
        )
        if isinstance(result, TrainedRanker):
            self.ranker, self.status = result, result.status
        else:
            self.ranker, self.status = None, result
        log.info("alert ranker: %s", self.status.reason)
        return self.status

    def start(self) -> None:
        """Retrain soon after start (a restart restores the ranker), then on schedule."""
        if self._task is None:
            self._task = asyncio.create_task(self._schedule(), name="tsad-ranker")

    async def _schedule(self) -> None:
        delay = self.settings.first_train_s
        while True:
            await asyncio.sleep(delay)
            delay = self.settings.retrain_every_s
            try:
                await self.train()
            except Exception:  # a failed retrain keeps the previous model
                log.exception("alert ranker retraining failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
