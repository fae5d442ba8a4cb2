"""``tsad demo``: feed the shipped sample series into a running tsad the way a
monitoring agent would, so the console has something to show.

The first part of the series goes in as one bulk body (the history a model
learns from); the rest follows in small batches, each sent once the stored band
covers it, so the hot path scores those points as they arrive — the spike and the
outage near the end are flagged on ingest, as they would be live.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import numpy as np

from tsad.samples import SAMPLE_ID, make_sample

HISTORY = 1_152  # eight days: enough for a daily-seasonal fit
BATCH = 12


def as_points(ts: np.ndarray, y: np.ndarray) -> list[list[float]]:
    """``[epoch seconds, value]`` pairs, the wire form of points."""
    return [[int(t), float(v)] for t, v in zip(ts, y, strict=True)]


def _band_end(client: httpx.Client, series_id: str) -> float | None:
    band = client.get(f"/v1/series/{series_id}").json().get("band")
    if not band:
        return None
    return float(np.datetime64(band["end"].rstrip("Z"), "s").astype(np.int64))


def _wait_for_band(client: httpx.Client, series_id: str, covers: int, deadline_s: float) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        last = _band_end(client, series_id)
        if last is not None and last >= covers:
            return True
        time.sleep(0.2)
    return False


def feed_sample(
    base_url: str,
    *,
    api_key: str | None = None,
    series_id: str = SAMPLE_ID,
    band_deadline_s: float = 120.0,
    say: Callable[[str], None] = print,
) -> int:
    """Post the sample series to ``base_url``; returns how many points were flagged."""
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    ts, y = make_sample()
    flagged = 0
    with httpx.Client(base_url=base_url, headers=headers, timeout=30.0) as client:
        body = {
            "series": [{"series_id": series_id, "points": as_points(ts[:HISTORY], y[:HISTORY])}]
        }
        client.post("/v1/points", json=body).raise_for_status()
        say(f"posted {HISTORY} points of history to {series_id}; waiting for its first model fit")
        for start in range(HISTORY, len(ts), BATCH):
            chunk = slice(start, start + BATCH)
            if not _wait_for_band(client, series_id, int(ts[chunk][-1]), band_deadline_s):
                say("no band yet: the rest of the points go in unscored")
            resp = client.post(
                f"/v1/series/{series_id}/points", json={"points": as_points(ts[chunk], y[chunk])}
            )
            resp.raise_for_status()
            flagged += len(resp.json()["anomalies"])
    say(f"posted {len(ts)} points; {flagged} flagged on ingest")
    return flagged
