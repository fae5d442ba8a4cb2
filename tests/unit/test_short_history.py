"""Which models a forecast falls back to when a global model cannot serve a series."""

from __future__ import annotations

import pytest

from tsad.models.short_history import FROM_DAYS, HOUR_MS, TO_DAYS, forecast_fallbacks


@pytest.mark.parametrize("model", ["nhits", "patchtst", "ensemble"])
def test_global_models_try_tsad_base_for_one_to_three_weeks_of_hourly_data(model: str) -> None:
    """An hourly series of 7–21 days tries tsad-base before stats."""
    for days in (FROM_DAYS, 10, TO_DAYS):
        assert forecast_fallbacks(model, HOUR_MS, days * 24) == ("tsad-base", "stats")


def test_shorter_longer_or_not_hourly_histories_go_straight_to_stats() -> None:
    """Outside the measured range, at another step, or from a local model: stats only."""
    assert forecast_fallbacks("patchtst", HOUR_MS, FROM_DAYS * 24 - 1) == ("stats",)
    assert forecast_fallbacks("patchtst", HOUR_MS, TO_DAYS * 24 + 1) == ("stats",)
    assert forecast_fallbacks("patchtst", 300_000, 10 * 24 * 12) == ("stats",)
    assert forecast_fallbacks("timegpt", HOUR_MS, 10 * 24) == ("stats",)
    assert forecast_fallbacks("tsad-base", HOUR_MS, 10 * 24) == ("stats",)
