"""NAB data: find the files of a NAB-layout tree, read them, place their windows,
and write NAB's results layout.

A NAB tree is ``DIR/data/<folder>/<file>.csv`` (``timestamp,value``) plus
``DIR/labels/combined_windows.json`` mapping ``"<folder>/<file>.csv"`` to
inclusive ``[start, end]`` windows. Any subset of NAB laid out this way works:
the label file decides which files make up the corpus.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tsad.errors import InvalidInput
from tsad.series import FloatArray, IntArray


@dataclass(frozen=True)
class NabFile:
    """One data file in file order (rows are not re-sorted: NAB scores file rows)."""

    key: str  # "<folder>/<file>.csv"
    ts: IntArray  # epoch ms, as in the file (may repeat or step back)
    value: FloatArray
    windows: list[tuple[int, int]]  # inclusive row-index pairs, in time order
    raw_timestamps: list[str]  # the file's own timestamp text, written back unchanged

    @property
    def folder(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split("/", 1)[1]

    def labels(self) -> IntArray:
        """1 on rows inside a window, else 0 (the results file's ``label`` column)."""
        out = np.zeros(self.ts.shape[0], np.int64)
        for left, right in self.windows:
            out[left : right + 1] = 1
        return out


def _to_ms(text: Sequence[str]) -> IntArray:
    stamps = pd.to_datetime(pd.Series(list(text)), format="mixed")
    return np.asarray(stamps.astype("int64") // 1_000_000, np.int64)


def window_rows(ts: IntArray, start_ms: int, end_ms: int) -> tuple[int, int] | None:
    """Inclusive row range of a window: first row at/after its start, through the
    first row stamped with its end (or the last row before it). None when empty."""
    after = np.flatnonzero(ts >= start_ms)
    if after.shape[0] == 0:
        return None
    left = int(after[0])
    exact = np.flatnonzero(ts[left:] == end_ms)
    if exact.shape[0]:
        right = left + int(exact[0])
    else:
        before = np.flatnonzero(ts[left:] <= end_ms)
        if before.shape[0] == 0:
            return None
        right = left + int(before[-1])
    return left, right


def read_file(path: Path, key: str, windows: Sequence[Sequence[str]]) -> NabFile:
    """Read one ``timestamp,value`` CSV and place its windows."""
    frame = pd.read_csv(path, dtype={"timestamp": str})
    if list(frame.columns[:2]) != ["timestamp", "value"]:
        raise InvalidInput(f"{path}: expected columns timestamp,value")
    raw = frame["timestamp"].tolist()
    ts = _to_ms(raw)
    value = frame["value"].to_numpy(np.float64)
    placed: list[tuple[int, int]] = []
    if windows:
        bounds = _to_ms([w[0] for w in windows] + [w[1] for w in windows])
        k = len(windows)
        for start, end in sorted(zip(bounds[:k].tolist(), bounds[k:].tolist(), strict=True)):
            rows = window_rows(ts, start, end)
            if rows is not None:
                placed.append(rows)
    return NabFile(key, ts, value, placed, raw)


@dataclass(frozen=True)
class NabCorpus:
    """The files named by the label file, and how many windows it lists."""

    root: Path
    files: list[NabFile]
    n_windows: int


def load_corpus(root: Path) -> NabCorpus:
    """Load every file named in ``labels/combined_windows.json`` (sorted by key)."""
    label_path = root / "labels" / "combined_windows.json"
    if not label_path.is_file():
        raise InvalidInput(f"{label_path} not found: not a NAB-layout directory")
    labels: dict[str, list[list[str]]] = json.loads(label_path.read_text())
    files: list[NabFile] = []
    for key in sorted(labels):
        path = root / "data" / key
        if not path.is_file():
            raise InvalidInput(f"{path} is named in the labels but missing")
        files.append(read_file(path, key, labels[key]))
    return NabCorpus(root, files, sum(len(v) for v in labels.values()))


def write_results(out_dir: Path, detector: str, f: NabFile, anomaly: FloatArray) -> Path:
    """Write ``OUT/<detector>/<folder>/<detector>_<file>.csv`` at full float precision."""
    folder = out_dir / detector / f.folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{detector}_{f.name}"
    frame = pd.DataFrame(
        {
            "timestamp": f.raw_timestamps,
            # repr is the shortest text that reads back to the exact same float:
            # thresholds are optimised on exact score values
            "value": [repr(float(v)) for v in f.value],
            "anomaly_score": [repr(float(a)) for a in anomaly],
            "label": f.labels(),
        }
    )
    frame.to_csv(path, index=False)
    return path


def read_results(path: Path) -> FloatArray:
    """The ``anomaly_score`` column of a results file."""
    # pandas' default parser may be off by one ulp; thresholds need the exact value
    frame = pd.read_csv(path, float_precision="round_trip")
    return frame["anomaly_score"].to_numpy(np.float64)
