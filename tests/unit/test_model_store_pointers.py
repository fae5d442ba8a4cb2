"""Global-model pointers: per tag, and re-read when another replica replaces them."""

from __future__ import annotations

from pathlib import Path

from tsad.models.neural_spec import make_spec
from tsad.models.neural_store import ModelStore

HOUR = 3_600_000


def test_a_pointer_replaced_by_another_store_is_seen_at_once(tmp_path: Path) -> None:
    """A store that has read a pointer sees the key another store (replica) wrote next."""
    spec = make_spec("patchtst", HOUR)
    reader, writer = ModelStore(tmp_path), ModelStore(tmp_path)
    writer.set_global(spec, HOUR, "a" * 24, series=1, bootstrap=True)
    assert reader.global_key(spec, HOUR) == "a" * 24
    for key in ("b" * 24, "c" * 24, "d" * 24):
        writer.set_global(spec, HOUR, key, series=400)
        assert reader.global_key(spec, HOUR) == key
        pointer = reader.global_pointer(spec, HOUR)
        assert pointer is not None and pointer["bootstrap"] is False


def test_tagged_pointers_are_apart_from_the_untagged_one(tmp_path: Path) -> None:
    """Members of one spec told apart by tag get pointers of their own."""
    spec = make_spec("patchtst", HOUR)
    store = ModelStore(tmp_path)
    store.set_global(spec, HOUR, "a" * 24, series=3)
    assert store.global_key(spec, HOUR, "m1") is None
    store.set_global(spec, HOUR, "b" * 24, series=3, tag="m1")
    assert (store.global_key(spec, HOUR), store.global_key(spec, HOUR, "m1")) == (
        "a" * 24,
        "b" * 24,
    )
