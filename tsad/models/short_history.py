"""Which model forecasts a series a global model cannot serve yet.

A global network (``nhits``, ``patchtst``, ``ensemble``) needs weeks of history or a
fitted global model; until then a forecast job falls back. For an hourly series with
one to three weeks of history the bundled ``tsad-base`` is tried before ``stats``:
on the validation third of its pretraining half it beat ``stats`` at 7, 13, 14 and
21 days (OWA 0.673 vs 0.739, 0.624 vs 0.751, 0.616 vs 0.736, 0.611 vs 0.701), tied
at 2 days and lost at 4 (0.718 vs 0.678), so shorter histories stay with ``stats``,
and longer ones were not measured (benchmarks/README.md, "Bundled model").
Detection keeps the ``stats`` fallback: its bands and scores were measured on it.
"""

from __future__ import annotations

from tsad.models.catalogue import entry

HOUR_MS = 3_600_000
#: tsad-base takes over from this many days of hourly history ...
FROM_DAYS = 7
#: ... up to the longest history measured (its input window is two weeks)
TO_DAYS = 21


def forecast_fallbacks(requested: str, step_ms: int, points: int) -> tuple[str, ...]:
    """The models to try, in order, when ``requested`` cannot forecast a series of
    ``points`` points at ``step_ms``; ``stats`` is always last."""
    found = entry(requested)
    hourly = step_ms == HOUR_MS and FROM_DAYS * 24 <= points <= TO_DAYS * 24
    if found is not None and found.global_fit and hourly:
        return ("tsad-base", "stats")
    return ("stats",)
