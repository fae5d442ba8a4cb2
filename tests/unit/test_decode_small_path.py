"""Small ``[t, v]`` batches take a plain-Python decode that agrees with the vectorised one."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tsad.api.decode import _SMALL, points_arrays
from tsad.errors import InvalidInput

_numbers = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
)


def _decode(points: list[list[object]]) -> tuple[np.ndarray, np.ndarray] | str:
    try:
        return points_arrays(points)
    except InvalidInput as exc:
        return exc.detail


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_numbers, min_size=2, max_size=2), min_size=1, max_size=_SMALL))
def test_small_batches_decode_as_the_vectorised_path(points: list[list[object]]) -> None:
    """The same points give the same stamps and values (or the same error) whether they
    come alone (plain Python) or repeated past the small-batch size (numpy)."""
    reps = _SMALL // len(points) + 1
    small, large = _decode(points), _decode(points * reps)
    if isinstance(small, str) or isinstance(large, str):
        assert small == large
        return
    n = len(points)
    np.testing.assert_array_equal(small[0], large[0][:n])
    np.testing.assert_array_equal(small[1], large[1][:n])
    assert small[0].dtype == large[0].dtype and small[1].dtype == large[1].dtype
