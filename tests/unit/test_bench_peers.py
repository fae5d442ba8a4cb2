"""The NAB bench's peer detectors are causal: appending rows never changes an earlier
row's score or flag. Skipped when a peer's package (the ``bench`` extra) is missing."""

from __future__ import annotations

import numpy as np
import pytest

from tsad.bench.detector import Detector
from tsad.bench.peers import AzureUnivariate, PyodIForest, _azure_modules


def _series(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    i = np.arange(n)
    y = 10 + np.sin(2 * np.pi * i / 6) + 0.1 * rng.standard_normal(n)
    y[n - 6] += 5.0  # one spike
    return (i * 300_000).astype(np.int64), y


def _assert_causal(det: Detector, n: int, cut: int) -> None:
    ts, y = _series(n)
    full = det.detect(ts, y)
    prefix = det.detect(ts[:cut], y[:cut])
    np.testing.assert_allclose(full.score[:cut], prefix.score)
    np.testing.assert_array_equal(full.flags[:cut], prefix.flags)
    assert ((full.score >= 0) & (full.score <= 1)).all()
    assert full.score[cut:].max() > 0  # the appended rows are scored, not left empty


@pytest.mark.slow
def test_pyod_iforest_is_causal() -> None:
    """PyOD's peer scores row i the same whether or not later rows follow."""
    pytest.importorskip("pyod")
    _assert_causal(PyodIForest(lags=4, first_fit=8, refit_every=8), n=40, cut=30)


@pytest.mark.slow
def test_azure_univariate_at_stride_one_is_causal() -> None:
    """Azure's algorithm at stride 1 (each row judged by the window ending at it) is causal."""
    try:  # the package's own __init__ needs mlflow and torch; the peer loads around it
        _azure_modules()
    except ImportError as e:
        pytest.skip(f"time-series-anomaly-detector not usable: {e}")
    _assert_causal(AzureUnivariate(window=24, stride=1), n=16, cut=14)
