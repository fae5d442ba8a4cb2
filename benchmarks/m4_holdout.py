"""M4 Hourly hold-out scoring shared by the PatchTST search and the ``tsad-base``
evaluation: sMAPE / MASE / OWA against Naive2 and 95% coverage from plain arrays.

Formulas are M4's (``tsad.bench.m4_metrics`` holds Naive2, OWA and the MASE scale).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsad.bench.m4 import SEASON, H, M4Series, load_m4
from tsad.bench.m4_metrics import naive2, owa, seasonal_scale
from tsad.series import FloatArray

M4_TRAIN = Path(__file__).resolve().parents[1].parent / "shared/data/m4/Hourly-train.csv"


@dataclass(frozen=True)
class Score:
    smape: float
    mase: float
    owa: float
    coverage: float

    def row(self) -> str:
        return f"{self.smape:6.2f} {self.mase:6.3f} {self.owa:6.3f} {self.coverage:6.3f}"


def load(limit: int | None = None) -> list[M4Series]:
    """M4 Hourly train with the last 48 of each series held out."""
    return load_m4(M4_TRAIN, None, limit)


def _smape(y: FloatArray, f: FloatArray) -> float:
    den = np.abs(y) + np.abs(f)
    return float(np.mean(np.where(den > 0, 200.0 * np.abs(y - f) / np.where(den > 0, den, 1), 0)))


def score(
    series: Sequence[M4Series],
    mean: Sequence[FloatArray],
    lo: Sequence[FloatArray] | None = None,
    hi: Sequence[FloatArray] | None = None,
    *,
    trains: Sequence[FloatArray] | None = None,
) -> Score:
    """Accuracy of forecasts ``mean`` (and 95% band) for the held-out 48 of ``series``.

    ``trains`` (default: each series' full training part) is the history Naive2
    and the MASE scale see — pass truncated histories to score short-history forecasts.
    """
    tr = trains or [s.train for s in series]
    sm, ms, sm2, ms2, cov = [], [], [], [], []
    for i, s in enumerate(series):
        y, f, n2 = s.test[:H], mean[i][:H], naive2(tr[i], H, SEASON)
        scale = seasonal_scale(tr[i], SEASON) or 1.0
        sm.append(_smape(y, f))
        sm2.append(_smape(y, n2))
        ms.append(float(np.mean(np.abs(y - f))) / scale)
        ms2.append(float(np.mean(np.abs(y - n2))) / scale)
        if lo is not None and hi is not None:
            cov.append(float(np.mean((y >= lo[i][:H]) & (y <= hi[i][:H]))))
    a, b, c, d = (float(np.mean(v)) for v in (sm, ms, sm2, ms2))
    return Score(a, b, owa(a, b, c, d), float(np.mean(cov)) if cov else float("nan"))
