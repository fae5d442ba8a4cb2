"""Groups of series and what tsad does with them: the component ``TsadService``
holds (``service.groups``), so the service itself grows by one attribute.

A group names 2+ series that belong together. Its members' points live in the
buffer as ordinary series (every member is also scored on its own); the group
adds a multivariate model over them:

* ``detect`` — batch (fit on every aligned row, robustly: rows the first fit
  flags are left out of the second) or online replay (fit on the first
  ``warmup`` rows, which are the warm-up; later rows are scored causally);
* ``ingest`` — the hot path: rows appended to the members and scored at once by
  the group's ``OnlineGroupScorer`` (O(1) per row). No training on the request:
  a fit is started in a worker thread when the group leaves warm-up and again
  every ``retrain_rows`` rows, and the scorer is swapped in when it is done.

Definitions and fitted models are stored through the buffer (``put_group``: one
document per group), so they survive a restart on the embedded store and Redis; a
restored model scores again once its rolling means are primed from the members'
stored rows (on the group's next append). The anomaly history and trained Azure
models stay in this process.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import anyio
import numpy as np

from tsad.detect.threshold import (
    DEFAULT_SENSITIVITY,
    check_ratio,
    check_sensitivity,
    threshold_for,
)
from tsad.errors import InvalidInput, NotEnoughPoints, SeriesNotFound
from tsad.feedback.adapt import Adaptation
from tsad.feedback.records import FeedbackInput, appended, check_input, matching
from tsad.multivariate import group_feedback as gfb
from tsad.multivariate.align import Aligned, align
from tsad.multivariate.detector import (
    DEFAULT_DETECTOR,
    DETECTORS,
    MultiScored,
    detector_from_state,
    make_detector,
)
from tsad.multivariate.online import OnlineGroupScorer
from tsad.multivariate.scoring import TUNING, GroupModel, fit_model, score_aligned
from tsad.series import FloatArray, IntArray, Series, check_series_id

if TYPE_CHECKING:
    from tsad.service import TsadService

#: rows a group needs before its model is trusted (its warm-up): a few times the
#: residual columns' slow window (60 rows), so the fit has seen their normal spread
#: (100 rows let a seed in 12 of the synthetic groups flag its normal rows; 200: none)
WARMUP_ROWS = 200
#: the hot path refits a group's model after this many new rows
RETRAIN_ROWS = 2_000
#: rows of history a fit reads
FIT_ROWS = 10_000
MAX_GROUPS = 1_000
#: share of the most surprising rows a robust fit leaves out of its middle fit
TRIM = 0.1
TRIM_ROUNDS = 3
MAX_MEMBERS = 100
ANOMALY_HISTORY = 10_000


@dataclass(frozen=True)
class Group:
    """A named set of series with its detector and sensitivity."""

    name: str
    series: tuple[str, ...]
    detector: str = DEFAULT_DETECTOR
    sensitivity: float = DEFAULT_SENSITIVITY
    created_ms: int = 0


@dataclass
class _Live:
    """A group's hot-path state."""

    scorer: OnlineGroupScorer | None = None
    rows_seen: int = 0
    rows_at_fit: int = 0
    fitting: bool = False
    fitted_ms: int | None = None
    primed: bool = True  # False: a restored scorer whose rolling means need the history
    step_ms: int = 60_000  # the members' grid step (feedback relaxes by steps)
    anomalies: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=ANOMALY_HISTORY))


@dataclass(frozen=True)
class GroupIngest:
    """One row append: per row its score, flag and contributors (or warm-up)."""

    group: str
    accepted: int
    scored: MultiScored
    training_scheduled: bool


def check_group(name: str, series: Sequence[str], detector: str, sensitivity: float) -> Group:
    """A valid group definition, or InvalidInput."""
    check_series_id(name)
    members = tuple(series)
    if not 2 <= len(members) <= MAX_MEMBERS:
        raise InvalidInput(f"a group has 2 to {MAX_MEMBERS} series, got {len(members)}")
    if len(set(members)) != len(members):
        raise InvalidInput("a group lists each series once")
    for s in members:
        check_series_id(s)
    if detector not in DETECTORS:
        raise InvalidInput(f"detector must be one of {', '.join(DETECTORS)}, got {detector!r}")
    return Group(name, members, detector, check_sensitivity(sensitivity), int(time.time() * 1000))


def detect_aligned(
    aligned: Aligned,
    detector: str,
    *,
    mode: str = "batch",
    sensitivity: float = DEFAULT_SENSITIVITY,
    max_anomaly_ratio: float | None = None,
    warmup: int = WARMUP_ROWS,
) -> MultiScored:
    """Batch or online-replay detection on aligned rows (pure; runs off the loop)."""
    n = len(aligned)
    if mode == "online":
        if n <= warmup:
            raise NotEnoughPoints(
                f"online replay needs more than {warmup} aligned rows, got {n}",
                needed=warmup + 1,
                got=n,
            )
        model = fit_model(detector, aligned, slice(0, warmup))
        return score_aligned(
            aligned,
            model,
            sensitivity=sensitivity,
            max_anomaly_ratio=max_anomaly_ratio,
            learning_rows=warmup,
        )
    if mode != "batch":
        raise InvalidInput(f"mode must be batch or online, got {mode!r}")
    if n < 10:
        raise NotEnoughPoints(
            f"batch detection needs at least 10 aligned rows, got {n}", needed=10, got=n
        )
    model = robust_fit(detector, aligned)
    return score_aligned(
        aligned, model, sensitivity=sensitivity, max_anomaly_ratio=max_anomaly_ratio
    )


def robust_fit(detector: str, aligned: Aligned) -> GroupModel:
    """A fit that a fault inside the rows does not teach: fit on the ``1 − TRIM`` rows
    least surprising to a full Mahalanobis distance (a fault cannot bend the model),
    then a last fit on every row that trimmed model does not flag (calibrated on all
    the normal rows again). Both statistics are fitted on the rows kept. Used by batch
    detection and by every background fit."""
    if len(aligned) < 20:
        return fit_model(detector, aligned, slice(None))
    feats = TUNING[detector].features(aligned.values)
    # the trimming keeps every component but one (T² and a one-dimensional Q): a fault
    # inside the rows is far along a direction of small variance, whatever the detector
    core = np.ones(len(aligned), dtype=bool)
    for _ in range(TRIM_ROUNDS):  # each round drops the core's most distant rows
        full = make_detector("pca", n_components=feats.shape[1])
        full.fit(feats[core])
        r = full.ratio(feats)
        core &= r <= np.quantile(r[core], 1.0 - TRIM)
    model = fit_model(detector, aligned, core)
    # rows within the trimmed model's own 99th percentile (a fault's ramp stays out)
    keep = model.outliers.ratio(feats) <= 1.0
    if keep.sum() >= max(10, len(aligned) // 2):
        model = fit_model(detector, aligned, keep)
    return model


class GroupService:
    """Groups: definitions, detection, the hot path and background fits."""

    def __init__(self, service: TsadService) -> None:
        self.service = service
        self.groups: dict[str, Group] = {}
        self.live: dict[str, _Live] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loaded = False
        self._load_lock = asyncio.Lock()
        #: operator feedback per group (tsad.multivariate.group_feedback), and what it does
        self.feedback: dict[str, list[dict[str, Any]]] = {}
        self._adaptation: dict[str, Adaptation] = {}
        from tsad.multivariate.models import TrainedModels

        self.models = TrainedModels(self, service.settings.integrations.mv_data_dirs)

    # ---------------------------------------------------------------- definitions

    async def load(self, refresh: bool = False) -> None:
        """Read the stored groups (once, or again with ``refresh``: another replica may
        have written some); a group already held here keeps its hot-path state."""
        if self._loaded and not refresh:
            return
        async with self._load_lock:
            if self._loaded and not refresh:
                return
            stored = await self.service.buffer.get_groups()
            for name, doc in stored.items():
                group = group_from_doc(name, doc)
                if self.groups.get(name) != group:
                    self.groups[name] = group
                    self.live[name] = restored_live(group, doc)
                if self.feedback.get(name, []) != doc.get("feedback", []):
                    self._set_feedback(group, list(doc.get("feedback", [])))
            if refresh:  # deleted elsewhere
                for name in set(self.groups) - set(stored):
                    self._forget(name)
            self._loaded = True

    async def lookup(self, name: str) -> Group:
        """The group ``name`` (read from the store if this process does not hold it)."""
        await self.load()
        if name not in self.groups:
            await self.load(refresh=True)
        return self.get(name)

    async def create(self, group: Group) -> Group:
        await self.load()
        if group.name not in self.groups and len(self.groups) >= MAX_GROUPS:
            raise InvalidInput(f"at most {MAX_GROUPS} groups")
        old = self.groups.get(group.name)
        same = old is not None and (old.series, old.detector) == (group.series, group.detector)
        live = self.live.get(group.name) if same else None
        records = self.feedback.get(group.name, [])
        await self.service.buffer.put_group(group.name, group_doc(group, live, records))
        self.groups[group.name] = group
        if live is None:
            self.live[group.name] = _Live()
        self._set_feedback(group, records)
        return group

    def get(self, name: str) -> Group:
        group = self.groups.get(name)
        if group is None:
            raise SeriesNotFound(f"no group {name!r}")
        return group

    async def all(self) -> list[Group]:
        await self.load(refresh=True)
        return [self.groups[k] for k in sorted(self.groups)]

    async def delete(self, name: str) -> None:
        await self.lookup(name)
        await self.service.buffer.put_group(name, None)
        self._forget(name)

    def _forget(self, name: str) -> None:
        del self.groups[name]
        self.live.pop(name, None)
        self.feedback.pop(name, None)
        self._adaptation.pop(name, None)

    # ------------------------------------------------------------------- feedback

    def _set_feedback(self, g: Group, records: list[dict[str, Any]]) -> None:
        self.feedback[g.name] = records
        step = self.live[g.name].step_ms if g.name in self.live else 60_000
        self._adaptation[g.name] = gfb.adaptation(records, g.sensitivity, step)

    async def _store_feedback(self, g: Group, records: list[dict[str, Any]]) -> None:
        await self.service.buffer.put_group(g.name, group_doc(g, self.live.get(g.name), records))
        self._set_feedback(g, records)

    async def add_feedback(self, name: str, item: FeedbackInput) -> dict[str, Any]:
        """Record one label on the group; returns the stored record (with its id)."""
        item = check_input(item)
        g = await self.lookup(name)
        end = item.end if item.end is not None else item.start
        peak = None
        if item.label in gfb.ALERT_LABELS:  # the labelled flags: the hot path's, or batch's
            peak = gfb.peak_log_odds(self.live[name].anomalies, item.start, end)
            if peak is None:
                peak = await self._batch_peak(name, item.start, end)
        record = gfb.group_record(item, peak)
        await self._store_feedback(g, appended(self.feedback.get(name, []), record))
        return record

    async def _batch_peak(self, name: str, start: int, end: int) -> float | None:
        try:
            s = await self.detect(group=name)
        except (SeriesNotFound, NotEnoughPoints):
            return None
        return gfb.peak_log_odds(gfb.flagged_rows(s.ts, s.score, s.is_anomaly), start, end)

    async def feedback_records(
        self,
        name: str,
        *,
        label: str | None = None,
        start: int | None = None,
        end: int | None = None,
        author: str | None = None,
    ) -> list[dict[str, Any]]:
        await self.lookup(name)
        records = self.feedback.get(name, [])
        return matching(records, label=label, start=start, end=end, author=author)

    async def delete_feedback(self, name: str, feedback_id: str) -> None:
        g = await self.lookup(name)
        await self._store_feedback(g, gfb.without(self.feedback.get(name, []), feedback_id, name))

    def _sensitivity_now(self, g: Group, step_ms: int) -> float:
        a = self._adaptation.get(g.name)
        return g.sensitivity if a is None else gfb.sensitivity_now(a, g.sensitivity, step_ms)

    def _expected(self, name: str, ts: IntArray) -> np.ndarray:
        a = self._adaptation.get(name)
        return np.zeros(ts.shape[0], dtype=bool) if a is None else gfb.expected_rows(a, ts)

    def state(self, name: str) -> dict[str, Any]:
        """What the group's hot path knows: warm-up, last fit, rows seen."""
        g, live = self.get(name), self.live[name]
        return {
            "learning": live.scorer is None,
            "rows_seen": live.rows_seen,
            "points_needed": max(0, WARMUP_ROWS - live.rows_seen) if live.scorer is None else 0,
            "fitted_ms": live.fitted_ms,
            "detector": g.detector,
        }

    # ------------------------------------------------------------------ detection

    async def aligned(
        self, series: Sequence[str], start: int | None = None, end: int | None = None
    ) -> Aligned:
        """The members' stored points on one grid."""
        members: dict[str, Series] = {}
        for sid in series:
            window = await self.service.buffer.window(sid, start, end, FIT_ROWS)
            if len(window) == 0:
                raise SeriesNotFound(f"series {sid!r} has no points in the range")
            members[sid] = window
        return align(members)

    async def detect(
        self,
        *,
        group: str | None = None,
        inline: Mapping[str, Series] | None = None,
        detector: str | None = None,
        mode: str = "batch",
        sensitivity: float | None = None,
        max_anomaly_ratio: float | None = None,
        start: int | None = None,
        end: int | None = None,
        warmup: int = WARMUP_ROWS,
    ) -> MultiScored:
        """Detect over a stored group (``group``) or inline series (``inline``)."""
        g = await self.lookup(group) if group is not None else None
        if (g is None) == (inline is None):
            raise InvalidInput("give either a stored group or inline series")
        aligned = align(inline) if inline is not None else await self.aligned(g.series, start, end)  # type: ignore[union-attr]
        name = detector or (g.detector if g else DEFAULT_DETECTOR)
        if name not in DETECTORS:
            raise InvalidInput(f"detector must be one of {', '.join(DETECTORS)}, got {name!r}")
        if sensitivity is not None:
            sens = check_sensitivity(sensitivity)
        else:  # the group's own, as its feedback moved it
            sens = self._sensitivity_now(g, aligned.step_ms) if g else DEFAULT_SENSITIVITY
        ratio = check_ratio(max_anomaly_ratio)
        scored = await anyio.to_thread.run_sync(
            lambda: detect_aligned(
                aligned, name, mode=mode, sensitivity=sens, max_anomaly_ratio=ratio, warmup=warmup
            )
        )
        if g is not None:
            scored = quiet(scored, self._expected(g.name, scored.ts))
        return scored

    # ------------------------------------------------------------------- hot path

    async def ingest(self, name: str, ts: IntArray, values: FloatArray) -> GroupIngest:
        """Append rows (``values[:, j]`` → member j) and score them on arrival."""
        g = await self.lookup(name)
        if values.ndim != 2 or values.shape != (ts.shape[0], len(g.series)):
            raise InvalidInput("each row needs one value per member of the group")
        live = self.live.setdefault(name, _Live())
        if not live.primed and live.scorer is not None:  # restored: its means need the history
            await self._prime(g, live.scorer)
            live.primed = True
        sens = self._sensitivity_now(g, live.step_ms)
        if live.scorer is not None and live.scorer.sensitivity != sens:
            live.scorer.set_sensitivity(sens)
        order = np.argsort(ts, kind="stable")
        ts, values = ts[order], values[order]
        for j, sid in enumerate(g.series):
            ok = ~np.isnan(values[:, j])
            if ok.any():
                await self.service.ingest(sid, ts[ok], values[ok, j])
        n, d = values.shape
        score, sev = np.zeros(n), np.zeros(n)
        flag, learning = np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
        change = np.zeros(n, dtype=bool)
        shares = np.zeros((n, d))
        last = np.nan_to_num(values[0])
        for i in range(n):
            row = np.where(np.isnan(values[i]), last, values[i])  # a missing value: the previous
            last = row
            if live.scorer is not None:
                r = live.scorer.push(row)
                score[i], flag[i], sev[i], shares[i] = r.score, r.is_anomaly, r.severity, r.shares
                change[i], learning[i] = r.is_change_point, False
        live.rows_seen += n
        scored = MultiScored(
            ts,
            values,
            g.series,
            score,
            flag,
            sev,
            learning,
            shares,
            threshold_for(sens),
            is_change_point=change,
        )
        scored = quiet(scored, self._expected(name, ts))
        flag = scored.is_anomaly
        for k in np.flatnonzero(flag).tolist():
            live.anomalies.append(anomaly_record(scored, k, 3))
        if live.scorer is None and live.rows_seen < WARMUP_ROWS:
            live.rows_seen = int(max(live.rows_seen, await self._stored_rows(g)))
        due = not live.fitting and (
            (live.scorer is None and live.rows_seen >= WARMUP_ROWS)
            or (live.scorer is not None and live.rows_seen - live.rows_at_fit >= RETRAIN_ROWS)
        )
        if due:
            live.fitting = True
            task = asyncio.create_task(self._fit(name), name=f"tsad-group-fit-{name}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return GroupIngest(name, n, scored, due)

    async def _stored_rows(self, g: Group) -> int:
        """Rows the group already has in the buffer (its least-filled member's count)."""
        counts = []
        for sid in g.series:
            info = await self.service.buffer.info(sid)
            counts.append(info.count if info else 0)
        return int(min(counts))

    async def _prime(self, g: Group, scorer: OnlineGroupScorer) -> None:
        """Push the members' last stored rows through a restored scorer (its rolling means)."""
        try:
            aligned = await self.aligned(g.series)
        except SeriesNotFound:
            return
        for row in aligned.values[-prime_rows(scorer.model) :]:
            scorer.push(row)

    async def _fit(self, name: str) -> None:
        """Fit the group's model on its stored rows in a worker thread, then swap it in."""
        live = self.live.get(name)
        try:
            g = self.get(name)
            aligned = await self.aligned(g.series)
            seen = live.rows_seen if live else 0
            step = aligned.step_ms

            def work() -> OnlineGroupScorer:
                model = robust_fit(g.detector, aligned)
                scorer = OnlineGroupScorer(model, sensitivity=self._sensitivity_now(g, step))
                for row in aligned.values[-prime_rows(model) :]:  # prime the rolling means
                    scorer.push(row)
                return scorer

            scorer = await anyio.to_thread.run_sync(work)
            if live is not None and self.live.get(name) is live:
                live.scorer, live.rows_at_fit, live.step_ms = scorer, seen, step
                live.fitted_ms = int(time.time() * 1000)
                records = self.feedback.get(name, [])
                await self.service.buffer.put_group(name, group_doc(g, live, records))
        except Exception:  # a failed fit keeps the old scorer; the next due row retries
            import logging

            logging.getLogger("tsad.groups").exception("group %s: fit failed", name)
        finally:
            if live is not None:
                live.fitting = False

    def anomalies(
        self, name: str, start: int | None = None, end: int | None = None
    ) -> list[dict[str, Any]]:
        self.get(name)
        return [
            a
            for a in self.live[name].anomalies
            if (start is None or a["ts"] >= start) and (end is None or a["ts"] <= end)
        ]

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.models.close()


def prime_rows(model: GroupModel) -> int:
    """Rows that fill every rolling mean of a scorer of ``model``."""
    t, c = model.tuning, model.change_tuning
    return max(t.window, t.long) + t.smooth + max(c.window, c.long) + c.smooth


def quiet(scored: MultiScored, expected: np.ndarray) -> MultiScored:
    """``scored`` with no flag inside an ``expected`` feedback range."""
    if not expected.any():
        return scored
    keep = ~expected
    return replace(
        scored,
        is_anomaly=scored.is_anomaly & keep,
        severity=np.where(keep, scored.severity, 0.0),
    )


def group_doc(
    g: Group, live: _Live | None, feedback: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """What the buffer stores of a group: its definition, its feedback and, when it has
    one that can be stored (``pca``), its fitted model."""
    model = None
    if live is not None and live.scorer is not None:
        try:
            model = live.scorer.model.to_state()
            detector_from_state(model["outliers"])  # a kind without a stored form: refit
        except InvalidInput:
            model = None
    return {
        "series": list(g.series),
        "detector": g.detector,
        "sensitivity": g.sensitivity,
        "created_ms": g.created_ms,
        "model": model,
        "fitted_ms": live.fitted_ms if live is not None else None,
        "step_ms": live.step_ms if live is not None else None,
        "feedback": list(feedback or []),
    }


def group_from_doc(name: str, doc: dict[str, Any]) -> Group:
    return Group(
        name,
        tuple(doc["series"]),
        str(doc["detector"]),
        float(doc["sensitivity"]),
        int(doc["created_ms"]),
    )


def restored_live(g: Group, doc: dict[str, Any]) -> _Live:
    """A stored group's hot-path state: its model back, to be primed on the next append."""
    live = _Live(fitted_ms=doc.get("fitted_ms"), step_ms=int(doc.get("step_ms") or 60_000))
    if doc.get("model"):
        model = GroupModel.from_state(doc["model"])
        live.scorer, live.primed = OnlineGroupScorer(model, sensitivity=g.sensitivity), False
    return live


def anomaly_record(scored: MultiScored, i: int, top: int) -> dict[str, Any]:
    """One flagged row as a plain dict (the anomaly history, the API)."""
    return {
        "ts": int(scored.ts[i]),
        "score": float(scored.score[i]),
        "severity": float(scored.severity[i]),
        "contributors": [{"series_id": v, "share": s} for v, s in scored.top(i, top)],
    }
