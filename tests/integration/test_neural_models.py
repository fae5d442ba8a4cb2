"""NHITS and PatchTST behind the Forecaster protocol: real (tiny) fits on CPU.

Each model is fitted a few times with a handful of steps and fixed seeds; the
model directory is a per-module temporary directory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsad.detect.score import score_against_band
from tsad.errors import NotEnoughPoints
from tsad.jobs import forecast_job
from tsad.models import neural
from tsad.models.neural import NeuralForecaster, NHITSForecaster, PatchTSTForecaster
from tsad.models.neural_fast import predict_windows
from tsad.models.neural_quiet import quiet
from tsad.models.neural_spec import make_spec
from tsad.models.neural_train import fit_module
from tsad.models.patchtst_bag import PatchTSTBag
from tsad.series import Series
from tsad.settings import ModelSettings

pytestmark = pytest.mark.slow

HOUR = 3_600_000
T0 = 1_700_000_000_000
STEPS = 100
# past patchtst's 14-day input window, so its in-sample band reaches the spike
SPIKE = 450


def seasonal(n: int = 520, seed: int = 0, level: float = 10.0, spike: bool = False) -> Series:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = level + 3 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.3, n)
    if spike:
        y[SPIKE] += 8.0
    return Series((T0 + t * HOUR).astype(np.int64), y)


KINDS = [NHITSForecaster, PatchTSTForecaster]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module", params=KINDS, ids=lambda c: c.kind)
def fitted(request: pytest.FixtureRequest, model_dir: Path) -> NeuralForecaster:
    """A forecaster that has fitted (and saved) a model on the spiked series."""
    forecaster: NeuralForecaster = request.param(
        ModelSettings(model_dir=str(model_dir)), max_steps=STEPS
    )
    forecaster.insample(seasonal(spike=True), HOUR, [99])
    return forecaster


def test_forecast_band_has_requested_columns_in_order(fitted: NeuralForecaster) -> None:
    """forecast() gives h future steps with lo-L/hi-L per level and lo ≤ mean ≤ hi."""
    history = seasonal(spike=True)
    fc = fitted.forecast(history, HOUR, 12, [80, 95])
    cols = fc.band.columns()
    assert set(cols) == {"mean", "lo-80", "hi-80", "lo-95", "hi-95"}
    assert fc.model_used == fitted.kind and not fc.degraded
    np.testing.assert_array_equal(fc.band.ts, history.ts[-1] + HOUR * np.arange(1, 13))
    assert all(np.isfinite(c).all() and c.shape == (12,) for c in cols.values())
    for level in (80, 95):
        assert np.all(fc.band.lo[level] <= fc.band.mean)
        assert np.all(fc.band.mean <= fc.band.hi[level])
    assert np.all(fc.band.lo[95] <= fc.band.lo[80]) and np.all(fc.band.hi[80] <= fc.band.hi[95])


def test_forecast_is_not_below_the_lowest_value_shown(fitted: NeuralForecaster) -> None:
    """A forecast is floored at the fit window's minimum, its band moved with it."""
    base = seasonal(spike=True)
    # troughs cut flat at the level: a sine-trained model would forecast below it
    history = Series(base.ts, np.maximum(base.y, 10.0))
    fc = fitted.forecast(history, HOUR, 24, [95])
    assert np.all(fc.band.mean >= 10.0)
    assert np.all(fc.band.lo[95] <= fc.band.mean) and np.all(fc.band.mean <= fc.band.hi[95])


def test_insample_flags_an_injected_spike(fitted: NeuralForecaster) -> None:
    """Rolling one-step bands flag the spike; the first input window has no band."""
    history = seasonal(spike=True)
    band = fitted.insample(history, HOUR, [99]).band
    window = fitted.spec(HOUR).input_size
    assert np.isnan(band.mean[:window]).all() and np.isfinite(band.mean[window:]).all()
    scored = score_against_band(history.ts, history.y, band.mean, band.lo[99], band.hi[99], 99)
    assert scored.is_anomaly[SPIKE] and scored.direction[SPIKE] == 1
    # the rest of the series is mostly inside its band
    assert scored.is_anomaly.sum() <= 0.05 * (len(history) - window)


def test_saved_model_reloads_and_predicts_the_same(
    fitted: NeuralForecaster, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new forecaster on the same model dir loads the safetensors model, no refit."""
    history = seasonal(spike=True)
    before = fitted.forecast(history, HOUR, 24, [95]).band

    def no_fit(*args: object, **kwargs: object) -> None:
        raise AssertionError("the saved model should have been reused")

    monkeypatch.setattr(neural, "fit_module", no_fit)
    fresh = type(fitted)(ModelSettings(model_dir=str(model_dir)), max_steps=STEPS)
    after = fresh.forecast(history, HOUR, 24, [95]).band
    np.testing.assert_allclose(after.mean, before.mean, rtol=1e-6)
    np.testing.assert_allclose(after.hi[95], before.hi[95], rtol=1e-6)
    assert list((model_dir / fitted.kind).glob("*.safetensors"))


@pytest.mark.parametrize("kind", ["nhits", "patchtst"])
def test_bare_module_matches_neuralforecast_predict(kind: str) -> None:
    """predict_windows on the torch module equals NeuralForecast.predict's quantiles."""
    ys = [seasonal(seed=s, level=10.0 * (s + 1)).y for s in range(3)]
    spec = make_spec(kind, HOUR, max_steps=20)
    fitted = fit_module(spec, ys)
    with quiet():
        ref = fitted.nf.predict()
    cols = [c for c in ref.columns if c not in ("unique_id", "ds")]
    ref_q = np.sort(ref[cols].to_numpy().reshape(3, spec.h, len(cols)), axis=-1)
    ours = predict_windows(fitted.module, np.stack([y[-spec.input_size :] for y in ys]))
    np.testing.assert_allclose(ours, ref_q, rtol=1e-4, atol=1e-4)
    # one window at a time goes through the traced graph: the same numbers
    for i, y in enumerate(ys):
        one = predict_windows(fitted.module, y[None, -spec.input_size :])
        np.testing.assert_allclose(one[0], ref_q[i], rtol=1e-4, atol=1e-4)
    assert fitted.module.__dict__.get("_tsad_graph") is not None, "the trace was not used"


def test_fit_many_serves_new_series_without_fitting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One global fit on several series serves forecasts for a series it never saw."""
    forecaster = NHITSForecaster(ModelSettings(model_dir=str(tmp_path)), max_steps=20)
    train = [seasonal(seed=s, level=5.0 * (s + 1)) for s in range(3)]
    forecaster.fit_many(train, HOUR)

    def no_fit(*args: object, **kwargs: object) -> None:
        raise AssertionError("the global model should have been used")

    monkeypatch.setattr(neural, "fit_module", no_fit)
    unseen = [seasonal(seed=9, level=1000.0), seasonal(seed=8, level=50.0)]
    out = forecaster.forecast_many(unseen, HOUR, 24, [90])
    assert [len(f.band) for f in out] == [24, 24]
    # robust scaling: the forecast follows each series' own level
    assert 990 < float(np.median(out[0].band.mean)) < 1010
    assert 40 < float(np.median(out[1].band.mean)) < 60
    single = forecaster.forecast(unseen[0], HOUR, 6, [90])
    np.testing.assert_allclose(single.band.mean, out[0].band.mean[:6], rtol=1e-6)


def test_too_little_history_raises_not_enough_points(tmp_path: Path) -> None:
    """Fewer points than input window + horizon → NotEnoughPoints with needed/got."""
    forecaster = PatchTSTForecaster(ModelSettings(model_dir=str(tmp_path)), max_steps=5)
    needed = forecaster.min_points(HOUR)
    with pytest.raises(NotEnoughPoints) as err:
        forecaster.forecast(seasonal(n=needed - 1), HOUR, 24, [95])
    assert (err.value.needed, err.value.got) == (needed, needed - 1)


def test_patchtst_short_history_says_what_it_needs_and_jobs_fall_back(tmp_path: Path) -> None:
    """10 days of hourly data < patchtst's 14-day input + horizon: the job falls back
    (to tsad-base, degraded; 3 days go to stats) and the reason names the points needed."""
    settings = ModelSettings(model_dir=str(tmp_path))
    needed = PatchTSTBag(settings).min_points(HOUR)
    assert needed == 14 * 24 + 48, "a 14-day input and the 48-step stored-band horizon"
    short = seasonal(n=240)
    out = forecast_job(settings, "patchtst", short.ts, short.y, None, 24, [95])
    assert out.report.degraded and out.report.model_used == "tsad-base"
    assert f"at least {needed} points" in (out.report.reason or "")
    days3 = seasonal(n=72)
    out = forecast_job(settings, "patchtst", days3.ts, days3.y, None, 24, [95])
    assert out.report.degraded and out.report.model_used.startswith("stats")
    assert f"at least {needed} points" in (out.report.reason or "")


def test_fitting_prints_nothing(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A fit and a predict write nothing to stdout/stderr (no Lightning chatter)."""
    forecaster = NHITSForecaster(ModelSettings(model_dir=str(tmp_path)), max_steps=5)
    capfd.readouterr()
    forecaster.forecast(seasonal(seed=4), HOUR, 24, [95])
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_fit_many_reports_progress(tmp_path: Path) -> None:
    """fit_many calls progress(step, total) after every training step (CLI bars)."""
    forecaster = PatchTSTForecaster(ModelSettings(model_dir=str(tmp_path)))
    seen: list[tuple[int, int]] = []
    forecaster.fit_many(
        [seasonal(seed=5)], HOUR, max_steps=4, progress=lambda s, t: seen.append((s, t))
    )
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_first_fit_bootstraps_the_global_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no global model, the first per-series fit serves the next series unfitted."""
    forecaster = NHITSForecaster(ModelSettings(model_dir=str(tmp_path)), max_steps=5)
    forecaster.forecast(seasonal(seed=1), HOUR, 24, [95])

    def no_fit(*args: object, **kwargs: object) -> None:
        raise AssertionError("the bootstrapped global model should have been used")

    monkeypatch.setattr(neural, "fit_module", no_fit)
    grown = seasonal(n=560, seed=2)
    assert len(forecaster.forecast(grown, HOUR, 24, [95]).band) == 24
    assert np.isfinite(forecaster.insample(grown, HOUR, [99]).band.mean[-1])


def test_store_prunes_old_models_but_keeps_global_ones(tmp_path: Path) -> None:
    """Saving beyond ``keep`` models deletes the oldest ones no global pointer names."""
    forecaster = NHITSForecaster(ModelSettings(model_dir=str(tmp_path)), max_steps=2)
    forecaster.store.keep = 2
    keys = [forecaster.fit_many([seasonal(seed=s)], HOUR) for s in range(4)]
    # fit_many re-points the global model each time: the last key is pinned
    left = {p.stem for p in (tmp_path / "nhits").glob("*.safetensors")}
    assert keys[-1] in left and keys[0] not in left and len(left) <= 2
    assert {p.stem for p in (tmp_path / "nhits").glob("[!g]*.json")} == left


def test_naive_skip_adds_the_last_season_over_the_window_mean() -> None:
    """naive_skip shifts every quantile by the last season minus the window mean."""
    from dataclasses import replace

    from tsad.models.neural_spec import build_module

    skip_spec = make_spec("patchtst", HOUR, max_steps=5)
    assert skip_spec.arch["naive_skip"] == 24, "PatchTST skips a day by default"
    plain_arch = {k: v for k, v in skip_spec.arch.items() if k != "naive_skip"}
    plain_spec = replace(skip_spec, arch=plain_arch)
    skip, plain = build_module(skip_spec), build_module(plain_spec)
    assert type(skip) is not type(plain)
    plain.load_state_dict(skip.state_dict())
    window = seasonal(seed=3, level=50.0).y[-plain_spec.input_size :]
    diff = predict_windows(skip, window[None]) - predict_windows(plain, window[None])
    last_day = window[-24:]
    expected = np.tile(last_day, plain_spec.h // 24 + 1)[: plain_spec.h] - window.mean()
    # the same shift for every quantile of every step
    np.testing.assert_allclose(diff[0], np.repeat(expected[:, None], diff.shape[-1], 1), atol=1e-3)


def test_naive_skip_longer_than_the_input_is_refused() -> None:
    """A skip season longer than the input window is a configuration error."""
    from dataclasses import replace

    from tsad.models.neural_spec import build_module

    spec = make_spec("patchtst", HOUR, max_steps=5)
    with pytest.raises(ValueError, match="naive_skip"):
        build_module(replace(spec, arch={**spec.arch, "naive_skip": spec.input_size + 1}))


def test_untrained_naive_skip_model_is_seasonal_naive() -> None:
    """Before any training a naive-skip PatchTST forecasts the last day repeated, every quantile."""
    from tsad.models.neural_spec import build_module

    spec = make_spec("patchtst", HOUR, max_steps=5)
    module = build_module(spec)
    window = seasonal(seed=4, level=80.0).y[-spec.input_size :]
    q = predict_windows(module, window[None])[0]
    expected = np.tile(window[-24:], spec.h // 24 + 1)[: spec.h]
    np.testing.assert_allclose(q, np.repeat(expected[:, None], q.shape[-1], 1), atol=1e-3)


def test_naive_skip_is_the_season_and_only_when_it_fits_the_input() -> None:
    """PatchTST skips one season (5-minute data: 288); none when the season exceeds its input."""
    assert make_spec("patchtst", 300_000).arch["naive_skip"] == 288
    assert "naive_skip" not in make_spec("patchtst", 60_000).arch  # 1,440 > 512 points
    assert "naive_skip" not in make_spec("nhits", HOUR).arch
