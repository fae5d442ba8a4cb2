"""Per-series adaptation to feedback: a threshold offset and expected ranges.

The flag threshold is a log-odds of surprise (``tsad.detect.threshold``). Feedback
moves one series' threshold by an *offset* in the same units:

* ``false_positive`` raises it to just above the most surprising flag in the range
  (``peak + MARGIN``): a point as surprising, in the same series, no longer fires;
* ``true_positive`` caps it just below the labelled peak: a confirmed kind of alert
  keeps firing whatever false positives came before;
* ``missed`` lowers it by ``MISS_STEP`` (the points were not flagged, so there is
  no surprise to aim at);
* ``expected`` adds the range to the series' expected ranges: points in them are
  not scored on arrival (no flag, and the series' scorer does not learn them, so
  a maintenance does not blind it afterwards) and never teach a fit.

The offset stays within [-``MAX_LOWER``, ``MAX_RAISE``]. It is a pure fold over the
series' records in the order they were made, so deleting a record or a reset
(records kept for the ranker, marked ``adapts: false``) simply replays.
The offset relaxes towards 0 with a half-life of ``HALF_LIFE`` sampling steps
(measured from the label, on the wall clock). Constants: chosen by
leave-one-folder-out CV on NAB (``tsad bench feedback``; benchmarks/README.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from tsad.detect.threshold import LOG_ODDS_PER_STEP, threshold_log_odds
from tsad.series import Scored, Series, unscored

#: log-odds above a false positive's peak the threshold is raised to
MARGIN = 0.01
#: log-odds a missed window lowers the threshold by
MISS_STEP = 0.25
#: bounds of the offset (log-odds)
MAX_RAISE = 4.0
MAX_LOWER = 0.2
#: sampling steps after which the offset has relaxed half way back to 0 (inf: never):
#: a false positive silences its kind of surprise for a while, not for ever
HALF_LIFE = 150.0
#: expected ranges kept per series (the newest)
MAX_EXPECTED = 100
#: context rule: see ``context_raise`` (NaN margin: off)
CTX_MARGIN = 0.01  # just past the false positive's peak, like MARGIN
#: in spreads and minutes of the day; what `tsad bench feedback` picks on every NAB folder
#: with the re-alarm scorer (benchmarks/README.md, "Feedback")
CTX_TOLERANCE = 4.0
CTX_MINUTES = 30.0
#: false-positive signatures kept per series (the newest): the hot path checks each
MAX_SIGNATURES = 16


@dataclass(frozen=True)
class Adaptation:
    """What one series' feedback does now (kept in ``state['meta']['feedback']``)."""

    offset: float = 0.0
    expected: tuple[tuple[int, int], ...] = ()
    count: int = 0
    set_at: int = 0  # wall-clock ms of the label that last set the offset
    half_life: float = HALF_LIFE
    # what the labelled false positives looked like (``context_raise``), newest last
    signatures: tuple[Signature, ...] = ()

    def to_meta(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "expected": [list(r) for r in self.expected],
            "count": self.count,
            "set_at": self.set_at,
            "half_life": self.half_life if math.isfinite(self.half_life) else None,
            "signatures": [g.to_meta() for g in self.signatures],
        }

    def current(self, now_ms: float, step_ms: int) -> float:
        """The offset now: relaxed since it was set, by sampling steps of the series."""
        steps = (now_ms - self.set_at) / max(step_ms, 1)
        return relaxed(self.offset, steps, self.half_life)

    @classmethod
    def from_meta(cls, raw: dict[str, Any] | None) -> Adaptation:
        if not raw:
            return cls()
        hl = raw.get("half_life")
        return cls(
            float(raw.get("offset", 0.0)),
            tuple((int(a), int(b)) for a, b in raw.get("expected", ())),
            int(raw.get("count", 0)),
            int(raw.get("set_at", 0)),
            math.inf if hl is None else float(hl),
            tuple(Signature.from_meta(g) for g in raw.get("signatures", ())),
        )


def logit(score: float) -> float:
    """The log-odds of a score in (0, 1)."""
    s = min(max(score, 1e-300), 1.0 - 1e-16)
    return math.log(s) - math.log1p(-s)


@dataclass(frozen=True)
class AdaptConstants:
    """The adaptation's constants (the defaults are the module's, chosen by CV)."""

    margin: float = MARGIN
    miss_step: float = MISS_STEP
    max_raise: float = MAX_RAISE
    max_lower: float = MAX_LOWER
    half_life: float = HALF_LIFE
    #: the false positive's rule for the whole series (off: only alerts that resemble it)
    fp_global: bool = True
    #: context rule (``context_raise``): log-odds above a resembling FP's peak (NaN: off)
    ctx_margin: float = CTX_MARGIN
    #: spreads (the residual scale) a flag may go past the FP's extreme and still resemble it
    ctx_tolerance: float = CTX_TOLERANCE
    #: minutes of the day either side of the FP's first flag (>= 720: any time)
    ctx_minutes: float = CTX_MINUTES
    #: the value range is two-sided (a much smaller excursion does not resemble it)
    ctx_two_sided: bool = True
    #: steps after which a signature's raise has relaxed half way (inf: never)
    ctx_half_life: float = math.inf


def relaxed(offset: float, steps: float, half_life: float) -> float:
    """The offset ``steps`` sampling steps after it was set."""
    if not math.isfinite(half_life) or steps <= 0:
        return offset
    return float(offset * math.pow(2.0, -steps / half_life))


def step(
    offset: float, label: str, peak: float | None, base_log_odds: float, c: AdaptConstants
) -> float:
    """The offset after one label (``peak``: the labelled flags' peak log-odds)."""
    if label == "false_positive" and peak is not None and c.fp_global:
        offset = max(offset, peak + c.margin - base_log_odds)
    elif label == "true_positive" and peak is not None:
        offset = min(offset, peak - c.margin - base_log_odds)
    elif label == "missed":
        offset -= c.miss_step
    return min(max(offset, -c.max_lower), c.max_raise)


def adapt(
    records: Sequence[dict[str, Any]],
    base_log_odds: float,
    constants: AdaptConstants | None = None,
    *,
    step_ms: int = 60_000,
) -> Adaptation:
    """Fold a series' records (oldest first) into its adaptation, at a base threshold
    of ``base_log_odds``."""
    c = constants or AdaptConstants()
    offset, set_at = 0.0, 0
    expected: list[tuple[int, int]] = []
    signatures: list[Signature] = []
    for r in sorted(records, key=lambda r: int(r.get("created", 0))):
        if not r.get("adapts", True):
            continue
        if r["label"] == "expected":
            expected.append((int(r["start"]), int(r["end"])))
            continue
        signatures = _with_context(signatures, r, c)
        peak = r.get("peak_log_odds")
        now = int(r.get("created", 0))
        before = relaxed(offset, (now - set_at) / max(step_ms, 1), c.half_life)
        offset = step(before, r["label"], None if peak is None else float(peak), base_log_odds, c)
        set_at = now
    return Adaptation(
        offset,
        tuple(expected[-MAX_EXPECTED:]),
        len(records),
        set_at,
        c.half_life,
        tuple(signatures[-MAX_SIGNATURES:]),
    )


def _with_context(
    signatures: list[Signature], record: dict[str, Any], c: AdaptConstants
) -> list[Signature]:
    """The signatures after one labelled alert (its ``context``, ``labelled_context``):
    a false positive adds its own, a true positive drops those its first flag
    resembles (a confirmed kind of alert keeps firing)."""
    ctx = record.get("context")
    if not ctx:
        return signatures
    if record["label"] == "false_positive":
        g = Signature(
            int(ctx["direction"]),
            float(ctx["extreme"]),
            float(ctx["peak"]),
            float(ctx["minute"]),
            float(ctx["least"]),
            float(record.get("created", 0)),
        )
        return [*signatures, g][-MAX_SIGNATURES:]
    if record["label"] == "true_positive":
        first = (int(ctx["first_direction"]), float(ctx["first_value"]))
        here = (*first, float(ctx["first_spread"]), float(ctx["first_minute"]))
        return [g for g in signatures if not resembles(g, *here, c)]
    return signatures


def offset_at(
    records: Sequence[dict[str, Any]],
    base_log_odds: float,
    at_ms: int,
    step_ms: int,
    first: dict[str, Any] | None = None,
    c: AdaptConstants | None = None,
) -> tuple[float, Adaptation]:
    """The offset a flag at ``at_ms`` had to pass, and the adaptation it was judged by:
    the series' records on ranges that ended before it (as the ranker's ``prior_*``
    features count them), folded and relaxed to ``at_ms``, raised by the context rules
    its flag (``first``: an anomaly record with direction, value and spread) resembles.
    What the ranker sees of an alert whenever its features are built (when it fires,
    or later when it is labelled), so training rows match the rows scored."""
    c = c or AdaptConstants()
    before = [r for r in records if int(r.get("end", r.get("start", 0))) < at_ms]
    a = adapt(before, base_log_odds, c, step_ms=step_ms)
    offset = a.current(at_ms, step_ms)
    if a.signatures and first is not None and first.get("spread") is not None:
        raised = context_raise(
            a.signatures,
            np.array([int(first.get("direction", 0))]),
            np.array([float(first["value"])]),
            np.array([float(first["spread"])]),
            minute_of_day(np.array([at_ms])),
            base_log_odds,
            c,
            now=float(at_ms),
            step=float(step_ms),
        )
        offset = max(offset, float(raised[0]))
    return offset, a


def labelled_context(flags: Sequence[dict[str, Any]]) -> dict[str, float] | None:
    """What a labelled alert looked like, from its flags (anomaly records, time order):
    the side of its most surprising flag, the most and least extreme values of its
    flags on that side, their peak log-odds, its first flag's minute of the day, and
    its first flag's side, value and spread. None without flags."""
    if not flags:
        return None
    top = max(flags, key=lambda f: float(f["score"]))
    d = int(top.get("direction", 0)) or 1
    same = [float(f["value"]) * d for f in flags if int(f.get("direction", 0)) == d]
    same = same or [float(top["value"]) * d]
    first = flags[0]
    minute = float((int(first["ts"]) // 60_000) % 1440)
    spread = first.get("spread")
    return {
        "direction": float(d),
        "extreme": max(same) * d,
        "least": min(same) * d,
        "peak": logit(float(top["score"])),
        "minute": minute,
        "first_direction": float(int(first.get("direction", 0)) or d),
        "first_value": float(first["value"]),
        "first_spread": float(spread) if spread is not None else 0.0,
        "first_minute": minute,
    }


def context_flags(
    scored: Scored,
    spread: np.ndarray,
    adaptation: Adaptation,
    base_log_odds: float,
    now_ms: float,
    step_ms: int,
    c: AdaptConstants | None = None,
) -> Scored:
    """The flags left once the false positives they resemble raised their threshold:
    a flag whose log-odds is under ``base + context_raise`` is cleared (not flagged,
    no side), so ``is_anomaly == score >= threshold`` holds with each point's own
    threshold. Only flagged points are looked at: O(flags x signatures)."""
    idx = np.flatnonzero(scored.is_anomaly)
    if not adaptation.signatures or idx.shape[0] == 0:
        return scored
    c = c or AdaptConstants()
    raise_ = context_raise(
        adaptation.signatures,
        scored.direction[idx],
        scored.value[idx],
        spread[idx],
        minute_of_day(scored.ts[idx]),
        base_log_odds,
        c,
        now=now_ms,
        step=float(step_ms),
    )
    s = np.clip(scored.score[idx], 1e-300, 1.0 - 1e-16)
    below = np.log(s) - np.log1p(-s) < base_log_odds + raise_
    if not below.any():
        return scored
    drop = idx[below]
    is_anomaly = scored.is_anomaly.copy()
    direction = scored.direction.copy()
    is_anomaly[drop] = False
    direction[drop] = 0
    return replace(scored, is_anomaly=is_anomaly, direction=direction)


def adapted_sensitivity(
    sensitivity: float, adaptation: Adaptation, now_ms: float, step_ms: int
) -> float:
    """The sensitivity whose threshold is the base one moved by the offset (as relaxed
    by ``now_ms``)."""
    if adaptation.offset == 0.0:
        return sensitivity
    shifted = sensitivity - adaptation.current(now_ms, step_ms) / LOG_ODDS_PER_STEP
    return min(max(shifted, 0.0), 99.9)


def in_ranges(ts: np.ndarray, ranges: Sequence[tuple[int, int]]) -> np.ndarray:
    """Which timestamps fall in any of the inclusive ranges."""
    hit = np.zeros(ts.shape[0], bool)
    for a, b in ranges:
        hit |= (ts >= a) & (ts <= b)
    return hit


def outside_expected(ts: np.ndarray, ranges: Sequence[tuple[int, int]]) -> np.ndarray:
    """Which arrivals the hot path scores: those outside every expected range (the
    others neither raise a flag nor teach the series' scorer)."""
    return ~in_ranges(ts, ranges) if ranges else np.ones(ts.shape[0], bool)


def with_unscored(scored: Scored, ts: np.ndarray, y: np.ndarray, keep: np.ndarray) -> Scored:
    """All arrivals: the scored ones (``keep``) as scored, the rest unscored (NaN band,
    score 0, never flagged), in arrival order."""
    if keep.all():
        return scored
    full = unscored(ts, y)
    for name in ("expected", "lo", "hi", "is_anomaly", "direction", "score", "severity"):
        getattr(full, name)[keep] = getattr(scored, name)
    return full


def drop_expected(window: Series, ranges: Sequence[tuple[int, int]]) -> Series:
    """The window without its points in expected ranges (they must not teach a fit)."""
    if not ranges or len(window) == 0:
        return window
    keep = ~in_ranges(window.ts, ranges)
    return window if keep.all() else Series(window.ts[keep], window.y[keep])


class Signature(NamedTuple):
    """What a labelled false positive looked like: its side (1 up, -1 down), the most
    extreme value its flags reached on that side, their peak log-odds, and the minute
    of the day of its first flag. (A named tuple: the hot path reads a series' up to
    ``MAX_SIGNATURES`` of them with its state, so building them must be cheap.)"""

    direction: int
    extreme: float
    peak: float
    minute: float
    least: float  # the least extreme value of its flags on that side
    at: float = 0.0  # when it was labelled (ms in the service, a row in the simulation)

    def to_meta(self) -> list[float]:
        return [float(self.direction), self.extreme, self.peak, self.minute, self.least, self.at]

    @classmethod
    def from_meta(cls, raw: Sequence[float]) -> Signature:
        return cls._make(raw)


def resembles(
    s: Signature, direction: int, value: float, spread: float, minute: float, c: AdaptConstants
) -> bool:
    """Whether one point resembles a false positive's signature (``context_raise``)."""
    one = _matches(
        [s], np.array([direction]), np.array([value]), np.array([max(spread, 0.0)]),
        np.array([minute]), c,
    )  # fmt: skip
    return bool(one[0, 0])


def _matches(
    signatures: Sequence[Signature],
    direction: np.ndarray,
    value: np.ndarray,
    width: np.ndarray,
    minute: np.ndarray,
    c: AdaptConstants,
) -> np.ndarray:
    """(points, signatures): which point resembles which signature (broadcast: a few
    numpy operations whatever the number of signatures)."""
    cols = np.array([(g.direction, g.extreme, g.least, g.minute) for g in signatures], float)
    side, extreme, least, at = (cols[:, k] for k in range(4))
    d, v, w = direction[:, None], value[:, None], c.ctx_tolerance * width[:, None]
    match: np.ndarray = (d == side) & ((v - extreme) * side <= w)  # not far past its extreme
    if c.ctx_two_sided:  # nor far short of its least extreme flag
        match &= (least - v) * side <= w
    if c.ctx_minutes < 720.0:
        gap = np.abs(minute[:, None] - at)
        match &= np.minimum(gap, 1440.0 - gap) <= c.ctx_minutes
    return match


def scored_spread(scored: Scored, sensitivity: float) -> np.ndarray:
    """Each point's residual scale (σ times the scorer's residual record): the upper
    half of the displayed band over the threshold's margin (``flag_stream`` draws the
    band as ``expected ± spread · margin``), so it does not move with the threshold."""
    margin = math.exp(threshold_log_odds(sensitivity))
    with np.errstate(invalid="ignore"):
        out: np.ndarray = (scored.hi - scored.expected) / margin
    return out


def minute_of_day(ts_ms: np.ndarray) -> np.ndarray:
    """Minutes since midnight UTC of epoch-ms timestamps."""
    out: np.ndarray = (np.asarray(ts_ms, np.int64) // 60_000) % 1440
    return out.astype(np.float64)


def context_raise(
    signatures: Sequence[Signature],
    direction: np.ndarray,
    value: np.ndarray,
    spread: np.ndarray,
    minute: np.ndarray,
    base_log_odds: float,
    c: AdaptConstants,
    now: float = 0.0,
    step: float = 1.0,
) -> np.ndarray:
    """Per point, the offset (log-odds) the false positives it resembles ask for: the
    highest ``peak + ctx_margin - base`` over the signatures on its side whose extreme
    it does not pass by more than ``ctx_tolerance`` spreads (the residual scale), within
    ``ctx_minutes`` of their time of day; -inf where none match (and when the rule
    is off). O(points x signatures), at most ``MAX_SIGNATURES`` signatures."""
    if not signatures or not math.isfinite(c.ctx_margin):
        return np.full(np.shape(value), -np.inf)
    sigs = signatures[-MAX_SIGNATURES:]
    width = np.where(np.isfinite(spread) & (spread > 0), spread, 0.0)
    match = _matches(sigs, direction, value, width, minute, c)
    want = np.array(
        [
            relaxed(
                min(g.peak + c.ctx_margin - base_log_odds, c.max_raise),
                (now - g.at) / max(step, 1.0),
                c.ctx_half_life,
            )
            for g in sigs
        ]
    )
    out: np.ndarray = np.where(match, want[None, :], -np.inf).max(axis=1)
    return out


def context_rules(
    adaptation: Adaptation, base_log_odds: float, c: AdaptConstants | None = None
) -> list[dict[str, Any]]:
    """The series' context thresholds as its info shows them: a flag on ``direction``'s
    side whose value lies within ``tolerance`` spreads of [``least``, ``extreme``],
    within ``minutes`` of ``minute`` (UTC minute of the day; null: any time), is
    flagged only at a score of at least ``threshold`` (and the series' threshold)."""
    c = c or AdaptConstants()
    if not math.isfinite(c.ctx_margin):
        return []
    out = []
    for g in adaptation.signatures:
        want = min(g.peak + c.ctx_margin - base_log_odds, c.max_raise)
        out.append(
            {
                "direction": "up" if g.direction > 0 else "down",
                "extreme": g.extreme,
                "least": g.least if c.ctx_two_sided else None,
                "tolerance": c.ctx_tolerance,
                "minute": g.minute if c.ctx_minutes < 720.0 else None,
                "minutes": c.ctx_minutes if c.ctx_minutes < 720.0 else None,
                "threshold": 1.0 / (1.0 + math.exp(-(base_log_odds + want))),
            }
        )
    return out
