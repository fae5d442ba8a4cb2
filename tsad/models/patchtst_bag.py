"""``patchtst``: four global PatchTST networks of one spec, their quantiles averaged.

One PatchTST trained on M4 Hourly scores OWA 0.53 on the hold-out; its errors
depend on the seed and the training length more than one would like. A bag of
four networks that differ only there — seeds 1 and 2, each at 1,500 and at 3,000
steps — averaged quantile by quantile, scored OWA 0.4997 with 95% coverage 0.939
(``tsad bench m4 --model patchtst --jobs 2``; the search that chose it:
``benchmarks/ensemble_search.py bag``, benchmarks/README.md "PatchTST bag").

Averaging quantiles (not sampling a mixture) keeps the band a band of the same
spec: each network's quantile grid is sorted, so the average is sorted too. The
result is floored like every model: not forecast below the fit window's minimum.

The first member is the single PatchTST tsad always had (untagged): it is what a
request may fit on its own history when no global model exists yet (a bootstrap,
``tsad.models.neural``), and it gives the in-sample bands of batch detection. The
other three are tagged (``m1`` .. ``m3``: their global pointers differ) and serve
only once a global fit has trained them; until then the bag is its first member.

Predicting costs one forward pass per member. One window (a request, a refit) goes
through a single traced graph of all four networks with int8 linear layers
(``neural_fast.predict_many``: four float32 heads are 15 MB read per forecast, which
made the bag memory-bound), quantiles within 1% of float32; batches of series run
each network in float32. ``benchmarks/bench_neural.py latency`` measures both.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tsad.detect.calibrate import floor_band
from tsad.errors import NotEnoughPoints
from tsad.models.member_fit import fit_members, member_horizon, members_due
from tsad.models.neural import PatchTSTForecaster
from tsad.models.neural_fast import (
    band_from_quantiles,
    input_windows,
    predict_many,
    sorted_probs,
)
from tsad.models.neural_spec import Variant
from tsad.models.neural_train import Progress
from tsad.series import Forecast, Series, check_levels
from tsad.settings import ModelSettings

#: the members: (seed, training steps of a global fit). Seeds and lengths from
#: benchmarks/ensemble_search.py ``bag`` on the M4 Hourly hold-out: four seeds at
#: 1,500 steps 0.505, this mix 0.4997, one network 0.53.
BAG: tuple[tuple[int, int], ...] = ((1, 1500), (2, 1500), (1, 3000), (2, 3000))


class PatchTSTBag:
    """Mean of the quantiles of four global PatchTST networks (seeds x lengths)."""

    name = "patchtst"
    #: a global fit trains each member for its own number of steps
    global_steps: int | None = None

    def __init__(self, settings: ModelSettings | None = None) -> None:
        self.settings = settings or ModelSettings()
        first = PatchTSTForecaster(self.settings, seed=BAG[0][0])
        rest = [
            PatchTSTForecaster(
                self.settings, seed=seed, variant=Variant(max_steps=steps), tag=f"m{i}"
            )
            for i, (seed, steps) in enumerate(BAG[1:], start=1)
        ]
        self.members: list[PatchTSTForecaster] = [first, *rest]

    # ------------------------------------------------------------ protocol

    def min_points(self, step_ms: int) -> int:
        """One input window plus the members' horizon (hourly: 14 days + 48 points)."""
        spec = self.members[0].spec(step_ms, member_horizon(step_ms, 0))
        return spec.input_size + spec.h

    def forecast(self, history: Series, step_ms: int, h: int, levels: Sequence[float]) -> Forecast:
        return self.forecast_many([history], step_ms, h, levels)[0]

    def insample(self, history: Series, step_ms: int, levels: Sequence[float]) -> Forecast:
        """The first member's rolling one-step-ahead bands (batch detection)."""
        return self.members[0].insample(history, step_ms, levels)

    def forecast_many(
        self,
        histories: Sequence[Series],
        step_ms: int,
        h: int,
        levels: Sequence[float],
        *,
        fit_if_missing: bool = True,
    ) -> list[Forecast]:
        """One forecast per history: each trained member predicts all histories in one
        batch; their quantiles are averaged, then read as bands and floored."""
        lv = check_levels(levels)
        hh = member_horizon(step_ms, h)
        first = self.members[0]
        try:
            # once trained, every member serves its global model: no exact-data lookup
            parts, spec, module = first.resolve(histories, step_ms, hh, global_only=True)
        except NotEnoughPoints:
            parts, spec, module = first.resolve(
                histories, step_ms, hh, fit_if_missing=fit_if_missing
            )
        modules = [module]
        for member in self.members[1:]:
            try:
                _, _, other = member.resolve(histories, step_ms, hh, global_only=True)
            except NotEnoughPoints:
                continue  # not globally trained yet: the bag is what is trained
            modules.append(other)
        q = predict_many(modules, input_windows(parts, spec.input_size), spec.h)
        mean = np.mean(q[:, :, :h], axis=0)
        steps = step_ms * np.arange(1, h + 1, dtype=np.int64)
        out = []
        for i, p in enumerate(parts):
            band = band_from_quantiles(p.ts[-1] + steps, sorted_probs(module), mean[i], lv)
            out.append(Forecast(floor_band(band, float(np.min(p.y))), self.name))
        return out

    # ------------------------------------------------------------ global fit

    def fit_many(
        self,
        histories: Sequence[Series],
        step_ms: int,
        h: int | None = None,
        *,
        max_steps: int | None = None,
        progress: Progress | None = None,
        workers: int = 1,
        keep_fresh_s: float | None = None,
    ) -> str:
        """Train every member on ``histories`` (a global fit); returns their keys.

        Each member trains for its own length in ``BAG``; ``max_steps`` (else the setting
        ``neural_max_steps``) rescales them, keeping their ratio (1,000 → 1,000, 1,000,
        2,000, 2,000), so the bag stays four distinct networks. ``workers`` > 1 trains
        that many members at once, each in a process of its own. ``keep_fresh_s`` keeps
        members trained more recently than that (the service's global fit passes two
        deadlines, so an attempt cut by its deadline resumes where it stopped).
        """
        scale = max_steps or self.settings.neural_max_steps
        base = BAG[0][1]
        steps = [max(1, scale * n // base) if scale else n for _, n in BAG]
        return fit_members(
            PatchTSTBag,
            self.settings,
            self.members,
            histories,
            step_ms,
            h,
            steps,
            progress,
            workers,
            keep_fresh_s,
        )

    def global_fit_due(self, step_ms: int, h: int | None, every_s: float) -> bool:
        return members_due(self.members, step_ms, h, every_s)
