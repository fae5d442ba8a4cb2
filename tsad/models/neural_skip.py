"""A PatchTST that forecasts the correction to seasonal naive.

With ``arch["naive_skip"] = m`` (a season length in points) the network's output is
added to the last ``m`` points of its input repeated over the horizon — the seasonal
naive forecast — so it learns how the coming season will *differ* from the last one
rather than the whole level and shape. Every quantile of the head gets the same skip,
so the band is a band around a corrected seasonal naive. The addition happens in the
per-window scaled space the network runs in, as the last season's deviation from the
window mean (RevIN, inside the network, centres the head's output on that mean); the
scalers are affine per window, so that is seasonal naive in the series' own units too.

Why: on short and on noisy hourly histories seasonal naive is a strong forecast
(benchmarks/README.md: it beats ``stats`` on both M4 and NAB with 2–13 days), and a
network whose head starts at zero starts from it instead of from nothing.
torch and neuralforecast are imported by the caller (``neural_spec.build_module``).
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def skip_class(base: Any) -> Any:
    """A subclass of the neuralforecast model class ``base`` whose forward adds the
    seasonal-naive forecast of its input window to every output of the head."""
    import torch

    class SeasonalSkip(base):  # type: ignore[misc]
        def __init__(self, *args: Any, naive_skip: int, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            season = int(naive_skip)
            if not 1 <= season <= self.input_size:
                raise ValueError(f"naive_skip {season} must be in 1..input_size")
            # input positions the horizon's steps copy: the last season, repeated
            steps = torch.arange(self.h) % season + (self.input_size - season)
            self.register_buffer("_skip_index", steps, persistent=False)
            # start from seasonal naive exactly: a zero head leaves RevIN's mean,
            # which the skip's deviation turns into the last season repeated
            head = getattr(getattr(self, "model", None), "head", None)
            linear = getattr(head, "linear", None)
            if isinstance(linear, torch.nn.Linear):
                torch.nn.init.zeros_(linear.weight)
                torch.nn.init.zeros_(linear.bias)

        def forward(self, windows_batch: Any) -> Any:
            out = super().forward(windows_batch)  # [B, h, Q]
            y = windows_batch["insample_y"][:, :, 0]  # [B, L], scaled
            # the deviation of the last season from the window's mean: RevIN (inside
            # the network) already puts the head's natural zero at that mean, so a
            # head output of zero (in RevIN's units) is exactly seasonal naive
            naive = y[:, self._skip_index] - y.mean(dim=1, keepdim=True)  # [B, h]
            return out + naive[:, :, None]

    SeasonalSkip.__name__ = f"{base.__name__}SeasonalSkip"
    SeasonalSkip.__qualname__ = SeasonalSkip.__name__
    return SeasonalSkip
