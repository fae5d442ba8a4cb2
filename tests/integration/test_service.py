"""TsadService end to end in-process: ingest → refit off the loop → stored band → scoring."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import load_nab, nab_windows
from tsad.buffer.memory import MemoryBuffer
from tsad.errors import InvalidInput, NotEnoughPoints, SeriesNotFound, TooLarge
from tsad.service import TsadService
from tsad.settings import ApiSettings, ModelSettings, Settings

HOUR = 3_600_000


def seasonal(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 50 + 5 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.5, n)
    return (1_700_000_000_000 + t * HOUR).astype(np.int64), y


@pytest.fixture
async def service():
    svc = TsadService(
        Settings(
            models=ModelSettings(runner="thread"), api=ApiSettings(max_points_per_request=5000)
        )
    )
    yield svc
    await svc.close()


async def test_first_ingest_is_unscored_and_schedules_a_refit(service: TsadService) -> None:
    """With no band stored, points are accepted unscored and a refit is queued."""
    ts, y = seasonal(24 * 7)
    r = await service.ingest("cpu", ts, y)
    assert r.accepted == len(ts) and r.duplicates == 0 and r.refit_scheduled
    assert not r.scored.is_anomaly.any() and np.isnan(r.scored.expected).all()
    await service.scheduler.drain()  # type: ignore[attr-defined]
    view = await service.series("cpu")
    assert view.band is not None and view.band.start == ts[-1] + HOUR
    assert view.meta.model_used == "stats:MSTL" and view.meta.freq == "h"


async def test_arrivals_are_scored_against_the_stored_band(service: TsadService) -> None:
    """After a refit, a normal point passes and a spike is flagged and recorded."""
    ts, y = seasonal(24 * 8)
    await service.ingest("cpu", ts[:-24], y[:-24])
    await service.scheduler.drain()  # type: ignore[attr-defined]
    r = await service.ingest("cpu", ts[-24:-22], np.array([y[-24], y[-23] + 40]))
    assert r.scored.is_anomaly.tolist() == [False, True]
    assert r.scored.direction[1] == 1 and r.scored.score[1] > 0.9
    stored = await service.anomalies("cpu", None, None)
    assert [a["ts"] for a in stored] == [int(ts[-23])]


async def test_duplicates_are_counted_and_last_write_wins(service: TsadService) -> None:
    """Re-sent timestamps are counted as duplicates and their new values kept."""
    ts, y = seasonal(20)
    await service.ingest("m", ts, y)
    r = await service.ingest("m", ts[:5], y[:5] + 1)
    assert r.accepted == 0 and r.duplicates == 5
    pts = await service.points("m", None, None)
    np.testing.assert_allclose(pts.y[:5], y[:5] + 1)


async def test_forecast_and_detect_on_stored_and_inline_series(service: TsadService) -> None:
    """Forecast and detect work on a stored series id and on inline points alike."""
    ts, y = seasonal(24 * 5)
    await service.ingest("s", ts, y)
    fc = await service.forecast(series_id="s", h=6, levels=[80, 95])
    assert len(fc.band) == 6 and fc.report.model_used == "stats:MSTL"
    det = await service.detect(points=(ts, y), level=99, mode="online")
    assert len(det.scored) == len(ts) and det.report.freq == "h"


async def test_bad_requests_raise_client_errors_and_store_nothing(service: TsadService) -> None:
    """Unknown series, bad h, too many points and bad ids are client errors."""
    with pytest.raises(SeriesNotFound):
        await service.forecast(series_id="nope", h=3)
    ts, y = seasonal(30)
    for h in (0, -1, 10**9):
        with pytest.raises(InvalidInput):
            await service.forecast(points=(ts, y), h=h)
    with pytest.raises(NotEnoughPoints):
        await service.detect(points=(ts[:5], y[:5]))
    big = np.arange(6000, dtype=np.int64)
    with pytest.raises(TooLarge):
        await service.ingest("big", big, np.zeros(6000))
    with pytest.raises(InvalidInput):
        await service.ingest("bad/id", ts, y)
    assert await service.list_series() == []


async def test_process_runner_fits_in_a_worker_process() -> None:
    """The default process runner fits off the event loop and returns the band."""
    svc = TsadService(Settings(), buffer=MemoryBuffer())
    try:
        ts, y = seasonal(24 * 3)
        fc = await svc.forecast(points=(ts, y), h=4, levels=[95])
        assert len(fc.band) == 4 and np.all(fc.band.lo[95.0] <= fc.band.hi[95.0])
    finally:
        await svc.close()


async def test_streaming_nyc_taxi_flags_points_in_labelled_windows(service: TsadService) -> None:
    """Posting NAB nyc_taxi in batches flags anomalies inside its labelled windows."""
    ts, y = load_nab("realKnownCause/nyc_taxi.csv")
    windows = nab_windows("realKnownCause/nyc_taxi.csv")
    flagged: list[int] = []
    for i in range(0, len(ts), 96):  # two days a batch: each fills one stored band
        r = await service.ingest("nyc_taxi", ts[i : i + 96], y[i : i + 96])
        flagged += r.anomalies.ts.tolist()
        if r.refit_scheduled:
            await service.scheduler.drain()  # type: ignore[attr-defined]
    in_windows = [t for t in flagged if any(a <= t <= b for a, b in windows)]
    assert in_windows, "no anomaly flagged inside a labelled window"
    assert len(await service.anomalies("nyc_taxi", None, None)) == len(flagged)


async def test_listeners_observe_ingests_and_fits(service: TsadService) -> None:
    """Ingest listeners see every result; fit listeners see each refit; a failing one is ignored."""
    seen: list[int] = []
    fits: list[bool] = []

    async def on_ingest(result) -> None:  # type: ignore[no-untyped-def]
        seen.append(result.accepted)

    async def broken(result) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("listener bug")

    service.ingest_listeners += [broken, on_ingest]
    service.fit_listeners.append(lambda seconds, ok: fits.append(ok and seconds >= 0))
    ts, y = seasonal(48)
    await service.ingest("obs", ts, y)
    await service.scheduler.drain()  # type: ignore[attr-defined]
    assert seen == [48] and fits == [True]
