"""The error hierarchy survives the trip to and from a model worker process."""

from __future__ import annotations

import pickle

from tsad.errors import BufferUnavailable, NotEnoughPoints, SeriesNotFound, TsadError


def test_errors_with_keyword_arguments_round_trip_through_pickle() -> None:
    """NotEnoughPoints and BufferUnavailable keep their type, detail and extra fields."""
    for err in (
        NotEnoughPoints("need 12, got 3", needed=12, got=3),
        BufferUnavailable("redis down", retry_after_s=7),
        SeriesNotFound("no such series"),
    ):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and isinstance(back, TsadError)
        assert back.detail == err.detail and back.extra == err.extra and str(back) == str(err)
    back = pickle.loads(pickle.dumps(NotEnoughPoints("x", needed=5, got=1)))
    assert (back.needed, back.got, back.status) == (5, 1, 422)
