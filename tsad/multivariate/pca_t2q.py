"""PCA with Hotelling's T² and the Q (squared prediction error) statistic.

Fitted on standardised training rows: T² measures how far a row lies inside the
principal subspace (in units of each component's variance), Q how far it lies off
it. Each is divided by its own 99th percentile on the training rows, and the row's
surprise ratio is the larger. Contributions are reconstruction-based (Alcala & Qin's
RBC) on the combined index ``T²/T²₉₉ + Q/Q₉₉``, each weighted by ``1 + z_j²`` (the
variable's own standardised distance from its training mean): RBC alone splits a
broken two-variable relation evenly, the weight names the variable that left its range.
Plain numpy (an SVD): no model library needed for the default detector.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tsad.errors import InvalidInput
from tsad.series import FloatArray

#: principal components kept (chosen by leave-one-folder-out CV on SKAB)
N_COMPONENTS = 6
_EPS = 1e-9


class PcaT2Q:
    """T² + Q on a PCA of the training rows."""

    name = "pca"

    def __init__(self, n_components: int = N_COMPONENTS) -> None:
        self.n_components = int(n_components)
        self.mean = np.zeros(0)
        self.scale = np.zeros(0)
        self.axes = np.zeros((0, 0))
        self.var = np.zeros(0)
        self.t2_q99 = 1.0
        self.q_q99 = 1.0
        self._m: FloatArray | None = None

    def fit(self, rows: FloatArray) -> None:
        if rows.shape[0] < 3:
            raise InvalidInput("PCA needs at least 3 training rows")
        self.mean = rows.mean(axis=0)
        sd = rows.std(axis=0)
        self.scale = np.where(sd > _EPS, sd, 1.0)
        z = (rows - self.mean) / self.scale
        _, s, vt = np.linalg.svd(z, full_matrices=False)
        k = max(1, min(self.n_components, vt.shape[0] - 1))
        self.axes = vt[:k]
        self.var = np.maximum(s[:k] ** 2 / max(1, rows.shape[0] - 1), _EPS)
        t2, q = self._stats(z)
        self.t2_q99 = max(float(np.quantile(t2, 0.99)), _EPS)
        self.q_q99 = max(float(np.quantile(q, 0.99)), _EPS)
        self._m = None

    def _stats(self, z: FloatArray) -> tuple[FloatArray, FloatArray]:
        t = z @ self.axes.T
        t2 = (t**2 / self.var).sum(axis=1)
        resid = z - t @ self.axes
        return t2, (resid**2).sum(axis=1)

    def ratio(self, rows: FloatArray) -> FloatArray:
        t2, q = self._stats((rows - self.mean) / self.scale)
        out: FloatArray = np.maximum(t2 / self.t2_q99, q / self.q_q99)
        return out

    def contributions(self, rows: FloatArray) -> FloatArray:
        z = (rows - self.mean) / self.scale
        m = self._index()
        mz = z @ m
        # RBC cannot tell which side of a broken two-variable relation moved (the residual
        # is symmetric); weighting by each variable's own distance from its normal level
        # breaks the tie towards the one that left its range
        out: FloatArray = mz**2 / np.maximum(np.diag(m), _EPS) * (1.0 + z**2)
        return out

    def _index(self) -> FloatArray:
        if self._m is None:  # cached: the hot path asks for it on every row
            self._m = self._index_matrix()
        return self._m

    def _index_matrix(self) -> FloatArray:
        """``M`` of the combined index ``zᵀMz = T²/T²₉₉ + Q/Q₉₉``: reconstruction-based
        contribution of variable j is ``(Mz)_j² / M_jj``, how much the index falls when
        variable j alone is moved to the value the others expect of it."""
        p = self.axes.T
        m: FloatArray = (p / self.var) @ p.T / self.t2_q99 + (
            np.eye(p.shape[0]) - p @ p.T
        ) / self.q_q99
        return m

    def to_state(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n_components": self.n_components,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "axes": self.axes.tolist(),
            "var": self.var.tolist(),
            "t2_q99": self.t2_q99,
            "q_q99": self.q_q99,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PcaT2Q:
        d = cls(int(state["n_components"]))
        d.mean = np.asarray(state["mean"], dtype=np.float64)
        d.scale = np.asarray(state["scale"], dtype=np.float64)
        d.axes = np.asarray(state["axes"], dtype=np.float64)
        d.var = np.asarray(state["var"], dtype=np.float64)
        d.t2_q99, d.q_q99 = float(state["t2_q99"]), float(state["q_q99"])
        return d
