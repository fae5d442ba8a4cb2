"""The Dask batch engine on a real ``distributed.LocalCluster`` (2 worker processes):
same results as the local engine, same output files, rejected series reported."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.integration.cli_helpers import clean_env, run_tsad
from tsad.engine.dask_engine import partition_bounds, run_dask
from tsad.engine.local import run_local
from tsad.errors import NotEnoughPoints
from tsad.io import SeriesData
from tsad.jobs import DetectOutcome, ForecastOutcome, detect_job, forecast_job
from tsad.settings import ModelSettings

distributed = pytest.importorskip("distributed")

T0 = 1_704_067_200_000  # 2024-01-01 UTC
HOUR = 3_600_000
SETTINGS = ModelSettings()


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    """A LocalCluster of 2 single-threaded worker processes started by this module."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def make_series(n: int, seed: int = 7) -> list[SeriesData]:
    """Seeded hourly series of varied length (AutoETS and MSTL both occur), a spike in some."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        length = int(rng.integers(30, 100))
        k = np.arange(length)
        y = 50 + 10 * np.sin(2 * np.pi * k / 24 + i) + rng.normal(0, 1 + i % 3, length)
        if i % 5 == 0:
            y[length // 2] += 40
        out.append(SeriesData(f"s{i:03d}", T0 + k.astype(np.int64) * HOUR, y))
    return out


def detect(s: SeriesData) -> DetectOutcome:
    return detect_job(SETTINGS, "stats", s.ts, s.y, None, 99.0, "batch")


def forecast(s: SeriesData) -> ForecastOutcome:
    return forecast_job(SETTINGS, "stats", s.ts, s.y, None, 12, [80.0, 95.0])


def test_dask_detection_equals_local_detection_on_200_series(client: object) -> None:
    """Every series gets the same model, band and flags on Dask as in-process."""
    series = make_series(200)
    local = run_local(series, detect, "detecting")
    remote = run_dask(series, detect, "detecting", client=client, per_partition=25)
    assert [s.series_id for s, _ in remote] == [s.series_id for s in series]
    models = {o.report.model_used for _, o in local}
    assert {"stats:MSTL", "stats:AutoETS"} <= models
    for (_, a), (_, b) in zip(local, remote, strict=True):
        assert a.report == b.report
        np.testing.assert_array_equal(a.scored.ts, b.scored.ts)
        for field in ("expected", "lo", "hi", "score"):
            np.testing.assert_allclose(
                getattr(a.scored, field), getattr(b.scored, field), rtol=1e-9, atol=1e-9
            )
        np.testing.assert_array_equal(a.scored.is_anomaly, b.scored.is_anomaly)


def test_dask_forecasts_equal_local_forecasts(client: object) -> None:
    """Forecast bands (every level) match the local engine series by series."""
    series = make_series(40, seed=3)
    local = run_local(series, forecast, "forecasting")
    remote = run_dask(series, forecast, "forecasting", client=client)
    for (_, a), (_, b) in zip(local, remote, strict=True):
        assert a.report.model_used == b.report.model_used
        for name, col in a.band.columns().items():
            np.testing.assert_allclose(col, b.band.columns()[name], rtol=1e-9, atol=1e-9)


def test_a_rejected_series_is_skipped_and_the_rest_kept(client: object) -> None:
    """A series too short to fit is left out (reported), the others come back in order."""
    series = make_series(6)
    short = SeriesData("tiny", series[0].ts[:3], series[0].y[:3])
    out = run_dask([*series[:3], short, *series[3:]], detect, "detecting", client=client)
    assert [s.series_id for s, _ in out] == [s.series_id for s in series]
    with pytest.raises(NotEnoughPoints):
        run_dask([short, short], detect, "detecting", client=client)


def test_partitions_hold_whole_series_with_at_least_two_per_worker() -> None:
    """Partition bounds cover every series once, never more partitions than series."""
    assert partition_bounds(200, 2, 100) == [0, 50, 100, 150, 200]
    assert partition_bounds(1000, 2, 100)[-1] == 1000
    assert len(partition_bounds(1000, 2, 100)) == 11
    assert partition_bounds(3, 2, 100) == [0, 1, 2, 3]


def _long_csv(path: Path, series: list[SeriesData]) -> None:
    frames = [
        pd.DataFrame(
            {
                "unique_id": s.series_id,
                "ds": pd.to_datetime(s.ts, unit="ms").strftime("%Y-%m-%d %H:%M:%S"),
                "y": s.y,
            }
        )
        for s in series
    ]
    pd.concat(frames).to_csv(path, index=False)


def test_cli_dask_engine_writes_the_same_files_as_local(client: object, tmp_path: Path) -> None:
    """tsad detect/forecast --engine dask --scheduler ADDR write byte-identical outputs."""
    src = tmp_path / "many.csv"
    _long_csv(src, make_series(20, seed=11))
    address = client.scheduler.address  # type: ignore[attr-defined]
    for command, extra in (("detect", []), ("forecast", ["--h", "6"])):
        outs = {}
        for engine in ("local", "dask"):
            out = tmp_path / f"{command}-{engine}.csv"
            flags = ["--engine", engine, "--output", out, "--model", "stats", *extra]
            if engine == "dask":
                flags += ["--scheduler", address]
            done = run_tsad(command, src, *flags, env=clean_env())
            assert done.returncode == 0, done.stderr
            outs[engine] = out.read_bytes()
        assert outs["local"] == outs["dask"]
        assert "partitions" in done.stderr  # the Dask progress bar counts partitions


def test_cli_rejects_a_scheduler_without_the_dask_engine(tmp_path: Path) -> None:
    """--scheduler with the local engine is a usage error (exit 2), not silently ignored."""
    src = tmp_path / "many.csv"
    _long_csv(src, make_series(2))
    done = run_tsad("detect", src, "--scheduler", "tcp://127.0.0.1:1", env=clean_env())
    assert done.returncode == 2 and "--engine dask" in done.stderr


def test_import_tsad_and_cli_help_do_not_import_dask() -> None:
    """The core and `tsad --help` stay free of Dask imports."""
    code = (
        "import sys, tsad, tsad.cli, tsad.engine\n"
        "from typer.testing import CliRunner\n"
        "assert CliRunner().invoke(tsad.cli.app, ['--help']).exit_code == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.slow  # torch imported in both worker processes
def test_neural_model_is_fitted_once_and_applied_in_every_partition(
    client: object, tmp_path: Path
) -> None:
    """nhits: one saved global model; Dask partitions only predict, matching the local run."""
    pytest.importorskip("neuralforecast")
    from tsad.engine.neural_prefit import prefit_global

    settings = ModelSettings(model_dir=str(tmp_path), neural_max_steps=5)
    rng = np.random.default_rng(5)
    k = np.arange(240)
    ts = T0 + k.astype(np.int64) * HOUR
    series = [SeriesData(f"n{i}", ts, np.sin(k / 4 + i) + rng.normal(size=240)) for i in range(8)]

    def job(s: SeriesData) -> DetectOutcome:
        return detect_job(settings, "nhits", s.ts, s.y, None, 99.0, "batch")

    assert len(prefit_global(settings, "nhits", series, None, None)) == 1
    local = run_local(series, job, "detecting")
    remote = run_dask(series, job, "detecting", client=client, per_partition=2)
    assert len(list((tmp_path / "nhits").glob("*.safetensors"))) == 1
    for (_, a), (_, b) in zip(local, remote, strict=True):
        assert a.report.model_used == b.report.model_used == "nhits"
        np.testing.assert_allclose(a.scored.expected, b.scored.expected, rtol=1e-5, equal_nan=True)
