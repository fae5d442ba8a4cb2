"""A small sample series shipped with tsad, so the examples and ``tsad demo`` need
no download: ``web_requests.csv``, ten days of requests per 10 minutes with a
daily cycle, a spike and a short outage near the end (NAB's ``timestamp,value``
layout). ``make_sample`` is the seeded generator that wrote it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SAMPLE_CSV = Path(__file__).resolve().parent / "web_requests.csv"
SAMPLE_ID = "web.requests"
STEP_S = 600
N_POINTS = 1_440
T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
SPIKE_AT = 1_300  # one 10-minute spike on day 10
OUTAGE_AT = 1_380  # a 40-minute drop on day 10


def make_sample(seed: int = 17) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds and values of the sample series (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    ts = T0 + STEP_S * np.arange(N_POINTS, dtype=np.int64)
    hours = (ts % 86_400) / 3_600
    daily = 120 + 60 * np.sin(2 * np.pi * (hours - 9) / 24)
    weekend = np.where(((ts // 86_400) + 4) % 7 >= 5, 0.8, 1.0)  # 2024-01-01 was a Monday
    y = daily * weekend + rng.normal(0, 4, N_POINTS)
    y[SPIKE_AT] += 150
    y[OUTAGE_AT : OUTAGE_AT + 4] *= 0.15
    return ts, np.round(y, 1)


def write_sample(path: Path) -> None:
    """Write the sample as ``timestamp,value`` CSV (RFC 3339 UTC timestamps)."""
    ts, y = make_sample()
    stamps = np.datetime_as_string(ts.astype("datetime64[s]"), unit="s")
    lines = ["timestamp,value", *(f"{t}Z,{v}" for t, v in zip(stamps, y, strict=True))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
