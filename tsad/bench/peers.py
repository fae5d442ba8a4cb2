"""Peer detectors for the NAB bench, behind the same ``Detector`` protocol as tsad's own.

* ``PyodIForest``: PyOD's Isolation Forest on lag windows (the last ``lags`` values),
  refitted on the rows before each cut and scoring the rows up to the next cut. Cuts
  are a fixed schedule of row counts (not a share of the file), so row ``i``'s score
  never depends on later rows. Score: PyOD's own ``predict_proba(method="unify")``
  (the outlier score standardised by the training scores, through erf: causal, in
  [0, 1]). Flags: PyOD's ``predict`` rule (above the training-score quantile at
  ``contamination=0.1``, its default).
* ``AzureUnivariate``: Microsoft's open-sourced Azure Anomaly Detector univariate
  algorithm (PyPI ``time-series-anomaly-detector``), at the package's defaults
  (sensitivity 99, maxAnomalyRatio 0.25, boundary version V1, model selection on).
  Each call detects on the last ``window`` rows up to a chunk end and keeps the
  results of the chunk's new rows. ``stride=1`` is the service's streaming use
  (every row judged by the window that ends at it: strictly causal); a larger stride
  lets a row see up to ``stride - 1`` later rows of its chunk, which the bench states.
  Score: the package's own 0-100 anomaly score (``get_margins`` V2) / 100; flags: its
  ``isAnomaly`` (V1 margins) at the default sensitivity.

The peers' packages live in the ``bench`` extra and are imported inside methods.
"""

from __future__ import annotations

import importlib.util
import sys
import types
import warnings
from typing import Any

import numpy as np

from tsad.bench.detector import Detection, forward_rows
from tsad.series import FloatArray, IntArray


def _fit_cuts(n: int, first: int, every: int) -> list[int]:
    """Row counts at which a model is (re)fitted: ``first``, doubling up to ``every``,
    then every ``every`` rows. Independent of ``n`` beyond truncation."""
    cuts: list[int] = []
    c = first
    while c < n:
        cuts.append(c)
        c = c * 2 if c * 2 <= every else c + every
    return cuts


class PyodIForest:
    """PyOD Isolation Forest on lag windows, refitted on a fixed row schedule."""

    def __init__(
        self,
        lags: int = 12,
        first_fit: int = 256,
        refit_every: int = 1024,
        max_train: int = 4096,
        seed: int = 0,
    ) -> None:
        self.name = "pyod-iforest"
        self.lags = lags
        self.first_fit = first_fit
        self.refit_every = refit_every
        self.max_train = max_train
        self.seed = seed

    def detect(self, ts: IntArray, y: FloatArray) -> Detection:
        keep = forward_rows(ts)
        s, f = self._detect_rows(np.asarray(y[keep], float))
        score = np.zeros(ts.shape[0])
        flags = np.zeros(ts.shape[0], bool)
        score[keep], flags[keep] = s, f
        return Detection(score, flags)

    def _detect_rows(self, y: FloatArray) -> tuple[FloatArray, np.ndarray]:
        from pyod.models.iforest import IForest

        n, w = y.shape[0], self.lags
        score = np.zeros(n)
        flags = np.zeros(n, bool)
        if n < w:
            return score, flags
        # window j covers rows j..j+w-1 and belongs to row j+w-1
        windows = np.lib.stride_tricks.sliding_window_view(y, w)
        cuts = [c for c in _fit_cuts(n, self.first_fit, self.refit_every) if c >= 2 * w]
        for k, cut in enumerate(cuts):
            end = cuts[k + 1] if k + 1 < len(cuts) else n
            train = windows[max(0, cut - w + 1 - self.max_train) : cut - w + 1]
            model = IForest(random_state=self.seed, n_jobs=1)
            model.fit(train)
            new = windows[cut - w + 1 : end - w + 1]
            # PyOD's own [0, 1] conversion (erf of the score standardised by the
            # training scores), and its predict rule (above the training quantile)
            # (a constant training score has no spread: unify divides by 0, so a NaN
            # there means "same as every training window", i.e. 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                proba = model.predict_proba(new, method="unify")[:, 1]
            score[cut:end] = np.nan_to_num(proba, nan=0.0)
            flags[cut:end] = model.decision_function(new) > model.threshold_
        return score, flags


def _azure_modules() -> dict[str, Any]:
    """The package's univariate algorithm without its top-level ``__init__``, which
    imports the multivariate model (torch and mlflow) that univariate detection does
    not use. numpy 2 removed ``in1d`` (the package pins numpy < 2); ``isin`` is its
    documented replacement and is put back under the old name if missing."""
    if "anomaly_detector" not in sys.modules:
        spec = importlib.util.find_spec("anomaly_detector")
        if spec is None or spec.submodule_search_locations is None:
            raise ModuleNotFoundError("time-series-anomaly-detector is not installed")
        pkg = types.ModuleType("anomaly_detector")
        pkg.__path__ = list(spec.submodule_search_locations)
        sys.modules["anomaly_detector"] = pkg
    if not hasattr(np, "in1d"):
        np.in1d = np.isin  # type: ignore[attr-defined]
    from anomaly_detector.univariate import AnomalyDetectionModel
    from anomaly_detector.univariate.util import BoundaryVersion, Granularity
    from anomaly_detector.univariate.util.fields import DEFAULT_MARGIN_FACTOR
    from anomaly_detector.univariate.util.refine import get_margins

    return {
        "model": AnomalyDetectionModel,
        "margins": get_margins,
        "v1": BoundaryVersion.V1,
        "v2": BoundaryVersion.V2,
        "none": Granularity.none,
        "sensitivity": DEFAULT_MARGIN_FACTOR,
    }


class AzureUnivariate:
    """Azure Anomaly Detector's univariate algorithm, run over a sliding window."""

    min_points = 12  # the package refuses fewer

    def __init__(self, window: int = 2016, stride: int = 1008) -> None:
        self.name = f"azure-univariate (window {window}, stride {stride})"
        self.window = window
        self.stride = stride

    def detect(self, ts: IntArray, y: FloatArray) -> Detection:
        keep = forward_rows(ts)
        s, f = self._detect_rows(np.asarray(y[keep], float))
        score = np.zeros(ts.shape[0])
        flags = np.zeros(ts.shape[0], bool)
        score[keep], flags[keep] = s, f
        return Detection(score, flags)

    def _detect_rows(self, y: FloatArray) -> tuple[FloatArray, np.ndarray]:
        ad = _azure_modules()
        n = y.shape[0]
        score = np.zeros(n)
        flags = np.zeros(n, bool)
        ends = list(range(self.min_points, n + 1, self.stride))
        if n >= self.min_points and (not ends or ends[-1] != n):
            ends.append(n)
        done = self.min_points - 1  # rows before the first full window stay 0
        for end in ends:
            start = max(0, end - self.window)
            s, f = self._call(ad, y[start:end])
            new = slice(max(done, start), end)
            score[new] = s[new.start - start :]
            flags[new] = f[new.start - start :]
            done = end
        return score, flags

    @staticmethod
    def _call(ad: dict[str, Any], values: FloatArray) -> tuple[FloatArray, np.ndarray]:
        series = [{"value": float(v)} for v in values]
        model = ad["model"](
            series=series, granularity=ad["none"], indices=list(range(len(series))), need_trend=True
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results, _, _, model_id, _ = model.detect(period=None, last_value=None)
            results = results.sort_index()
            # get_margins refines the flags in place: give each version its own copy
            v1 = ad["margins"](results.copy(), ad["sensitivity"], model_id, ad["v1"], False)
            v2 = ad["margins"](results.copy(), ad["sensitivity"], model_id, ad["v2"], False)
        flags = np.asarray(v1[5], bool)
        score = np.clip(np.asarray(v2[8], float) / 100.0, 0.0, 1.0)
        return score, flags
