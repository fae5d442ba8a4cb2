"""Predict straight through the torch module: no Trainer, no DataFrame, no dataset.

``NeuralForecast.predict`` rebuilds a dataset and a Lightning Trainer on every
call (tens of ms, more in production); the network itself needs well under a
millisecond for one window. This module does what neuralforecast's direct
predict step does for a model without exogenous inputs — robust-scale each
input window, run the network, map the quantile head, un-scale — in
``torch.inference_mode``. It uses the scaler's functions rather than
``scaler.transform`` (which stores statistics on the module) so concurrent
predictions on one module are safe.

Quantiles → band: the head predicts a fixed quantile grid (``TRAINED_LEVELS``);
a requested level is interpolated linearly in normal-quantile (z) space between
grid points, and beyond the grid extrapolated from the median in proportion to
z. Quantiles are sorted per point first, so bands never cross: lo ≤ mean ≤ hi.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri

from tsad.detect.calibrate import level_quantile
from tsad.series import Band, FloatArray, IntArray

_traced_lock = threading.Lock()

#: windows per forward pass in rolling predictions (bounds memory on long series)
CHUNK = 2048


def quantile_probs(module: Any) -> FloatArray:
    """The module's quantile probabilities, in its output order."""
    return np.asarray(module.loss.quantiles.detach().cpu().numpy(), np.float64)


def predict_windows(module: Any, windows: npt.NDArray[Any]) -> FloatArray:
    """Windows ``[B, input_size]`` → sorted quantiles ``[B, h, Q]`` (probabilities ascending).

    A single window (the hot path: one series, one request) runs through a traced
    and frozen TorchScript graph of the whole step; larger batches run eagerly.
    """
    import torch

    x = torch.from_numpy(np.ascontiguousarray(windows, np.float32))
    graph = _single_window_graph(module, x) if x.shape[0] == 1 else None
    with torch.inference_mode():
        out = graph(x) if graph is not None else _step_module(module)(x)
    q = out.numpy().astype(np.float64)
    order = _order(module)
    return np.sort(q[:, :, order], axis=-1)


def _order(module: Any) -> npt.NDArray[np.intp]:
    order = module.__dict__.get("_tsad_order")
    if order is None:
        order = np.argsort(quantile_probs(module))
        module.__dict__["_tsad_order"] = order
    return cast(npt.NDArray[np.intp], order)


def sorted_probs(module: Any) -> FloatArray:
    """The module's quantile probabilities, ascending (the order ``predict_windows``
    returns quantiles in); computed once per module."""
    probs = module.__dict__.get("_tsad_probs")
    if probs is None:
        probs = np.sort(quantile_probs(module))
        module.__dict__["_tsad_probs"] = probs
    return cast(FloatArray, probs)


def _step_module(module: Any) -> Any:
    """The predict step as one torch module ``[B, L] → [B, h, Q]``: robust-scale the
    window, run the network, map the quantile head, un-scale."""
    cached = module.__dict__.get("_tsad_step")
    if cached is not None:
        return cached
    import torch

    class Step(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: Any) -> Any:
            scaler = self.inner.scaler
            x = x[:, :, None, None]
            mask = torch.ones_like(x)
            shift, scale = scaler.compute_statistics(x=x, mask=mask, dim=1, eps=scaler.eps)
            batch = {
                "insample_y": scaler.scaler(x, shift, scale)[:, :, 0],
                "insample_mask": mask[:, :, 0],
                "futr_exog": None,
                "hist_exog": None,
                "stat_exog": None,
            }
            out = self.inner.loss.domain_map(self.inner(batch))  # [B, h, 1, Q]
            # statistics are [B, 1, 1, 1]: they broadcast over horizon and quantiles
            return scaler.inverse_scaler(out, shift, scale)[:, :, 0, :]

    step = Step(module).eval()
    # not an attribute assignment torch would register as a submodule (a cycle)
    module.__dict__["_tsad_step"] = step
    return step


def _single_window_graph(module: Any, example: Any) -> Any:
    """A TorchScript trace of the step for batches of one, frozen and optimised for
    inference, built on first use and kept on the module; None when the trace does not
    reproduce the eager output (then the eager path serves). Tracing drops the
    per-layer Python dispatch: for the default NHITS a one-window predict goes from
    ~0.7 ms to ~0.3 ms (benchmarks/README.md). A trace fixes the batch size (NHITS
    reshapes by it), hence batches of one only."""
    graph = module.__dict__.get("_tsad_graph", False)
    if graph is not False:
        return graph
    with _traced_lock:
        graph = module.__dict__.get("_tsad_graph", False)
        if graph is False:
            graph = _trace(_step_module(module), [module], example)
            module.__dict__["_tsad_graph"] = graph
        return graph


def _trace(step: Any, modules: Sequence[Any], example: Any) -> Any:
    """``step`` traced on ``example``, frozen and optimised; None unless it reproduces
    the eager output."""
    import torch

    # freezing probes every attribute; on a module loaded from disk (never attached
    # to a Trainer) Lightning's ``trainer`` property raises unless it is scripting
    scripting = [getattr(m, "_jit_is_scripting", False) for m in modules]
    for m in modules:
        m._jit_is_scripting = True
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = torch.jit.optimize_for_inference(
                torch.jit.trace(step, example, check_trace=False)  # type: ignore[no-untyped-call]
            )
            # fused kernels reorder float sums: equal to float32 rounding, not bitwise
            ok = torch.allclose(graph(example), step(example), rtol=1e-5, atol=1e-5)
    except Exception:  # an architecture the tracer cannot follow: eager it is
        graph, ok = None, False
    finally:
        for m, was in zip(modules, scripting, strict=True):
            m._jit_is_scripting = was
    return graph if ok else None


def input_windows(parts: Sequence[Any], input_size: int) -> FloatArray:
    """The last ``input_size`` points of each series ``[len(parts), input_size]``."""
    if not parts:
        return np.empty((0, input_size))
    return np.stack([p.y[-input_size:] for p in parts])


def predict_many(modules: Sequence[Any], windows: FloatArray, h: int) -> FloatArray:
    """Sorted quantiles ``[M, B, h_module, Q]`` of each of ``modules`` (networks of one
    shape: a seed bag) for the same windows ``[B, L]``, in batches of at most 1,024.
    One window runs through one traced graph of every module's step (a single module:
    its own graph), so a bag of four pays four networks, not four Python round trips."""
    if windows.shape[0] == 0:
        return np.empty((len(modules), 0, h, 0))
    if windows.shape[0] == 1 and len(modules) > 1:
        return _predict_joint(modules, windows)
    return np.stack([_batched(m, windows) for m in modules])


def _batched(module: Any, windows: FloatArray) -> FloatArray:
    """``predict_windows`` over ``windows`` in batches of at most 1,024."""
    n = windows.shape[0]
    return np.concatenate(
        [predict_windows(module, windows[i : i + 1024]) for i in range(0, n, 1024)]
    )


def _predict_joint(modules: Sequence[Any], windows: FloatArray) -> FloatArray:
    import torch

    x = torch.from_numpy(np.ascontiguousarray(windows, np.float32))
    graph = _joint_graph(modules, x)
    with torch.inference_mode():
        eager = graph is None
        out = torch.stack([_step_module(m)(x) for m in modules]) if eager else graph(x)
    q = out.numpy().astype(np.float64)
    return np.stack([np.sort(q[i][:, :, _order(m)], axis=-1) for i, m in enumerate(modules)])


def _joint_graph(modules: Sequence[Any], example: Any) -> Any:
    """One traced graph ``[1, L] → [M, 1, h, Q]`` of every module's step, kept on the
    first module for this exact set of modules (a new global fit loads new ones)."""
    import torch

    cache: dict[tuple[int, ...], tuple[tuple[Any, ...], Any]]
    cache = modules[0].__dict__.setdefault("_tsad_joint", {})
    ids = tuple(id(m) for m in modules)
    hit = cache.get(ids)
    if hit is not None and all(a is b for a, b in zip(hit[0], modules, strict=True)):
        return hit[1]

    class Joint(torch.nn.Module):
        def __init__(self, steps: list[Any]) -> None:
            super().__init__()
            self.steps = torch.nn.ModuleList(steps)

        def forward(self, x: Any) -> Any:
            return torch.stack([step(x) for step in self.steps])

    with _traced_lock:
        fp32 = Joint([_step_module(m) for m in modules]).eval()
        int8 = [_int8(m) for m in modules]
        graph = None
        if all(q is not None for q in int8):
            joint = Joint([_step_module(q) for q in int8]).eval()
            graph = _trace(joint, [*modules, *int8], example)
            if graph is not None and not _close_enough(graph, fp32, example):
                graph = None
        if graph is None:
            graph = _trace(fp32, modules, example)
        if len(cache) >= 4:
            cache.clear()
        cache[ids] = (tuple(modules), graph)
    return graph


def _int8(module: Any) -> Any:
    """A copy of ``module`` whose linear layers run on int8 weights (dynamic
    quantisation: activations quantised per call), or None when it cannot be made.

    Why: a bag's four PatchTST heads hold 4 x 3.8 MB of float32 weights, read from
    memory for every forecast; in int8 they are a quarter of that, and one window's
    forecast of the bag went from ~4-5.5 ms to ~2.5 ms, quantiles within 0.4% of the
    series' scale (benchmarks/README.md, "Latency"). Only the one-window joint path
    uses it: batches, in-sample bands and training stay in float32.
    """
    import copy

    import torch

    try:
        plain = copy.copy(module)
        plain.__dict__ = {k: v for k, v in module.__dict__.items() if not k.startswith("_tsad")}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao points to torchao; the API works
            return torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                copy.deepcopy(plain), {torch.nn.Linear}, dtype=torch.qint8
            )
    except Exception:  # a module that does not copy or quantise: float32 it is
        return None


def _close_enough(graph: Any, reference: Any, example: Any) -> bool:
    """The int8 graph's quantiles within 1% of the float32 ones (relative to their
    mean magnitude) on the window it was traced on."""
    import torch

    with torch.inference_mode():
        got, want = graph(example), reference(example)
    scale = float(want.abs().mean()) or 1.0
    return float((got - want).abs().max()) <= 0.01 * scale


def rolling_one_step(module: Any, y: FloatArray, input_size: int) -> FloatArray:
    """One-step-ahead quantiles ``[n - input_size, Q]`` for every point after the
    first input window, each from the ``input_size`` points before it."""
    n = y.shape[0]
    if n <= input_size:
        return np.empty((0, quantile_probs(module).shape[0]))
    views = np.lib.stride_tricks.sliding_window_view(y, input_size)[:-1]
    parts = [
        predict_windows(module, views[i : i + CHUNK])[:, 0, :]
        for i in range(0, n - input_size, CHUNK)
    ]
    return np.concatenate(parts, axis=0)


def band_from_quantiles(
    ts: IntArray, probs: FloatArray, q: FloatArray, levels: Sequence[float]
) -> Band:
    """Quantiles ``[n, Q]`` at ascending ``probs`` → a Band with ``mean`` (median) and
    ``lo``/``hi`` for each level."""
    zgrid = ndtri(np.sort(probs))
    mean = _interp(q, zgrid, 0.0)
    lo: dict[float, FloatArray] = {}
    hi: dict[float, FloatArray] = {}
    for level in levels:
        z = level_quantile(level)
        lo[level] = np.minimum(_at(q, zgrid, -z, mean), mean)
        hi[level] = np.maximum(_at(q, zgrid, z, mean), mean)
    return Band(ts, mean, lo, hi)


def _at(q: FloatArray, zgrid: FloatArray, z: float, median: FloatArray) -> FloatArray:
    """Each row's quantile at normal score ``z`` (interpolated / extrapolated)."""
    if z < zgrid[0]:
        return np.asarray(median + (q[:, 0] - median) * (z / zgrid[0]), np.float64)
    if z > zgrid[-1]:
        return np.asarray(median + (q[:, -1] - median) * (z / zgrid[-1]), np.float64)
    return _interp(q, zgrid, z)


def _interp(q: FloatArray, zgrid: FloatArray, z: float) -> FloatArray:
    j = min(max(int(np.searchsorted(zgrid, z)), 1), zgrid.shape[0] - 1)
    w = float((z - zgrid[j - 1]) / (zgrid[j] - zgrid[j - 1]))
    return np.asarray(q[:, j - 1] * (1.0 - w) + q[:, j] * w, np.float64)


def nan_band(ts: IntArray, levels: Sequence[float]) -> Band:
    """A band with no values (points inside the first input window)."""
    nan = np.full(ts.shape[0], np.nan)
    return Band(ts, nan, {lv: nan.copy() for lv in levels}, {lv: nan.copy() for lv in levels})


def join_bands(a: Band, b: Band) -> Band:
    """``a`` followed by ``b`` (a NaN head before fitted in-sample bands)."""
    return Band(
        np.concatenate([a.ts, b.ts]),
        np.concatenate([a.mean, b.mean]),
        {lv: np.concatenate([a.lo[lv], b.lo[lv]]) for lv in b.lo},
        {lv: np.concatenate([a.hi[lv], b.hi[lv]]) for lv in b.hi},
    )
