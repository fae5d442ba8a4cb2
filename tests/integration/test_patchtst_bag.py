"""``patchtst`` is a bag of four global PatchTST networks: tiny real fits on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tsad.models import catalogue
from tsad.models.member_fit import member_horizon
from tsad.models.neural_fast import (
    band_from_quantiles,
    input_windows,
    predict_many,
    predict_windows,
    sorted_probs,
)
from tsad.models.patchtst_bag import BAG, PatchTSTBag
from tsad.models.registry import ModelRegistry
from tsad.series import Series
from tsad.settings import ModelSettings

pytestmark = pytest.mark.slow

HOUR = 3_600_000
T0 = 1_700_000_000_000
N = 14 * 24 + 48 + 40  # one 14-day input window, the 48-step horizon and some windows


def seasonal(seed: int, n: int = N) -> Series:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 50 + 8 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.5, n)
    return Series((T0 + t * HOUR).astype(np.int64), y)


def settings(model_dir: Path) -> ModelSettings:
    return ModelSettings(model_dir=str(model_dir), neural_max_steps=3)


def test_the_catalogue_serves_patchtst_as_the_bag(tmp_path: Path) -> None:
    """model=patchtst is the bag: four members of one spec, distinct seed/length, distinct tags."""
    forecaster = ModelRegistry(settings(tmp_path)).get("patchtst")
    assert isinstance(forecaster, PatchTSTBag)
    entry = catalogue.entry("patchtst")
    assert entry is not None and entry.global_fit
    members = forecaster.members
    assert len(members) == len(BAG) == 4
    assert len({m.tag for m in members}) == 4 and members[0].tag == ""
    assert {m.seed for m in members} == {1, 2}
    serving = {m.spec(HOUR, 48).serving_digest for m in members}
    assert len(serving) == 1, "the members differ only in how they were trained"


def test_before_a_global_fit_the_bag_is_its_first_member(tmp_path: Path) -> None:
    """With no global fit, a request bootstraps the first member only and gets its band."""
    bag = PatchTSTBag(settings(tmp_path))
    history = seasonal(0)
    fc = bag.forecast(history, HOUR, 24, [95])
    assert fc.model_used == "patchtst" and len(fc.band) == 24
    first = bag.members[0].forecast(history, HOUR, member_horizon(HOUR, 24), [95]).band
    np.testing.assert_allclose(fc.band.mean, first.mean[:24])
    np.testing.assert_allclose(fc.band.hi[95], first.hi[95][:24])
    pointers = sorted(p.name for p in (tmp_path / "patchtst").glob("global-*.json"))
    assert len(pointers) == 1 and not pointers[0].endswith("-m1.json")
    assert json.loads((tmp_path / "patchtst" / pointers[0]).read_text())["bootstrap"] is True


def test_a_trained_bag_averages_its_members_quantiles(tmp_path: Path) -> None:
    """After fit_many every member has a global model; the band is the mean quantile grid
    (one window through the int8 joint graph: within 1% of the float32 members' mean)."""
    bag = PatchTSTBag(settings(tmp_path))
    seen: list[tuple[int, int]] = []
    keys = bag.fit_many(
        [seasonal(s) for s in range(3)], HOUR, 48, progress=lambda s, t: seen.append((s, t))
    )
    assert len(set(keys.split(","))) == 4, "each member is a model of its own"
    assert seen[-1] == (18, 18), "progress counts every member's steps (3 + 3 + 6 + 6)"
    assert not bag.global_fit_due(HOUR, 48, every_s=3600)
    history = seasonal(9)
    fc = bag.forecast(history, HOUR, 24, [80, 95])
    grids = [m.quantiles_many([history], HOUR, 48)[2][0, :24] for m in bag.members]
    probs = sorted_probs(bag.members[0].quantiles_many([history], HOUR, 48)[1])
    expected = band_from_quantiles(fc.band.ts, probs, np.mean(grids, axis=0), [80, 95])
    floor = float(np.min(history.tail(bag.settings.fit_window).y))
    tol = 0.01 * float(np.mean(np.abs(expected.mean)))
    np.testing.assert_allclose(fc.band.mean, np.maximum(expected.mean, floor), atol=tol)
    for lv in (80, 95):
        np.testing.assert_allclose(fc.band.hi[lv], expected.hi[lv], atol=tol)
        assert np.all(fc.band.lo[lv] <= fc.band.mean) and np.all(fc.band.mean <= fc.band.hi[lv])
    assert not np.allclose(grids[0], grids[1]), "two seeds gave the same network"
    # many histories in one call (float32 batches) give what each gets alone, within 1%
    many = bag.forecast_many([history, seasonal(10)], HOUR, 24, [95])
    np.testing.assert_allclose(many[0].band.hi[95], fc.band.hi[95], atol=tol)
    assert bag.forecast(history, HOUR, 24, [95]).band.hi[95].tolist() == fc.band.hi[95].tolist()


def test_the_joint_graph_runs_int8_networks_close_to_float32(tmp_path: Path) -> None:
    """One window through the bag's joint graph: int8 linear layers, quantiles within 1% of
    float32 each; batches stay float32, equal to each network's own prediction."""
    bag = PatchTSTBag(settings(tmp_path))
    bag.fit_many([seasonal(s) for s in range(2)], HOUR, 48)
    history = seasonal(5)
    found = [m.resolve([history], HOUR, 48, global_only=True) for m in bag.members]
    modules = [module for _, _, module in found]
    window = input_windows(found[0][0], found[0][1].input_size)
    joint = predict_many(modules, window, 48)
    alone = np.stack([predict_windows(m, window) for m in modules])
    assert joint.shape == alone.shape == (4, 1, 48, alone.shape[-1])
    scale = float(np.mean(np.abs(alone)))
    assert 0 < float(np.max(np.abs(joint - alone))) <= 0.01 * scale
    (graph,) = [g for _, g in modules[0].__dict__["_tsad_joint"].values()]
    assert graph is not None and "quantized" in str(graph.graph), "the joint graph is int8"
    two = np.concatenate([window, window[:, ::-1]])
    batch = predict_many(modules, two, 48)
    np.testing.assert_array_equal(
        batch[:, :1], np.stack([predict_windows(m, two) for m in modules])[:, :1]
    )


def test_members_train_side_by_side_in_processes(tmp_path: Path) -> None:
    """workers=2 trains all four members in spawned processes, keys as a serial fit's."""
    histories = [seasonal(s) for s in range(2)]
    parallel = PatchTSTBag(settings(tmp_path / "a")).fit_many(histories, HOUR, 48, workers=2)
    serial = PatchTSTBag(settings(tmp_path / "b")).fit_many(histories, HOUR, 48)
    assert parallel == serial, "the same data and specs give the same model keys"
    pointers = list((tmp_path / "a" / "patchtst").glob("global-*.json"))
    assert len(pointers) == 4
    assert not any(json.loads(p.read_text())["bootstrap"] for p in pointers)


def test_a_cut_short_global_fit_resumes_with_the_members_it_missed(tmp_path: Path) -> None:
    """keep_fresh_s keeps members trained moments ago and trains only those without a
    global model, serially and in processes."""
    bag = PatchTSTBag(settings(tmp_path))
    histories = [seasonal(s) for s in range(2)]
    first = bag.fit_many(histories, HOUR, 48).split(",")
    models = tmp_path / "patchtst"
    for tag, key in (("m2", first[2]), ("m3", first[3])):  # as if cut after two members
        (pointer,) = models.glob(f"global-*-{tag}.json")
        pointer.unlink()
        for path in models.glob(f"{key}.*"):
            path.unlink()
    assert bag.global_fit_due(HOUR, 48, every_s=3600)
    seen: list[tuple[int, int]] = []
    # a fresh process (the retry): nothing in memory, what is on disk
    again = (
        PatchTSTBag(settings(tmp_path))
        .fit_many(histories, HOUR, 48, keep_fresh_s=3600, progress=lambda s, t: seen.append((s, t)))
        .split(",")
    )
    assert again == first and seen[-1] == (12, 12), "only members 3 and 4 (6 steps each) ran"
    assert not bag.global_fit_due(HOUR, 48, every_s=3600)
    for tag, key in (("m1", first[1]), ("m3", first[3])):
        (pointer,) = models.glob(f"global-*-{tag}.json")
        pointer.unlink()
        for path in models.glob(f"{key}.*"):
            path.unlink()
    resumed = PatchTSTBag(settings(tmp_path)).fit_many(
        histories, HOUR, 48, keep_fresh_s=3600, workers=2
    )
    assert resumed.split(",") == first
    assert len(list(models.glob("global-*.json"))) == 4
    assert all(list(models.glob(f"{key}.safetensors")) for key in first)
