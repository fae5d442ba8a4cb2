"""The per-file inputs of ``tsad bench feedback``: the bands the hot path would have
held (``replay_bands``, cached per file: the replay is the slow part) and the scores
the service gives against them, once per file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsad.bench.detector import forward_rows
from tsad.bench.nab import NabFile
from tsad.detect.flags import flag_stream
from tsad.detect.online import replay_bands
from tsad.detect.threshold import DEFAULT_SENSITIVITY
from tsad.feedback.adapt import scored_spread
from tsad.models.registry import ModelRegistry
from tsad.prepare import prepare
from tsad.series import FloatArray, IntArray, season_length
from tsad.settings import ModelSettings

LEVEL = 99.0


def cached_bands(
    f: NabFile, model: str, cache: Path, fit_window: int | None = None
) -> dict[str, np.ndarray]:
    """The file's replayed bands, from ``cache`` when a run already made them;
    ``fit_window`` replaces the service's default window (models and replay alike)."""
    path = cache / model / f.key.replace("/", "__").replace(".csv", ".npz")
    if path.is_file():
        return dict(np.load(path))
    keep = forward_rows(f.ts)
    settings = ModelSettings() if fit_window is None else ModelSettings(fit_window=fit_window)
    forecaster = ModelRegistry(settings).get(model)
    p = prepare(f.ts[keep], f.value[keep], min_points=forecaster.min_points(1))
    b = replay_bands(p, forecaster, LEVEL, fit_window=settings.fit_window)
    out = {
        "keep": keep,
        "mean": b.mean,
        "lo": b.lo,
        "hi": b.hi,
        "ref": b.ref,
        "season": np.array(season_length(p.step_ms)),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)  # type: ignore[arg-type]
    return out


@dataclass(frozen=True)
class FileScores:
    """One file, row for row: its score, severity and side at the default settings."""

    key: str
    folder: str
    ts: IntArray
    score: FloatArray
    severity: FloatArray
    side: FloatArray
    windows: list[tuple[int, int]]
    step_ms: int
    value: FloatArray  # the file's values
    spread: FloatArray  # the scorer's residual scale (``scored_spread``; NaN: no band)


def file_scores(f: NabFile, bands: dict[str, np.ndarray]) -> FileScores:
    keep = bands["keep"]
    fl = flag_stream(
        f.ts[keep],
        f.value[keep],
        bands["mean"],
        bands["lo"],
        bands["hi"],
        LEVEL,
        bands["ref"],
        season=int(bands["season"]),
        sensitivity=DEFAULT_SENSITIVITY,
    )
    n = f.ts.shape[0]
    score, severity, side = np.zeros(n), np.zeros(n), np.zeros(n)
    spread = np.full(n, np.nan)
    spread[keep] = scored_spread(fl.scored, DEFAULT_SENSITIVITY)
    score[keep] = fl.scored.score
    severity[keep] = fl.scored.severity
    with np.errstate(invalid="ignore"):
        side[keep] = np.nan_to_num(np.sign(f.value[keep] - bands["mean"]))
    diffs = np.diff(f.ts[keep])
    step = int(np.median(diffs)) if diffs.shape[0] else 60_000
    return FileScores(
        f.key, f.folder, f.ts, score, severity, side, list(f.windows), max(step, 1),
        f.value, spread,
    )  # fmt: skip
