"""tsad: self-hosted time-series forecasting and anomaly detection."""

from tsad.errors import TsadError
from tsad.series import Band, Forecast, Scored, Series
from tsad.settings import Settings

__version__ = "0.1.0"

__all__ = ["Band", "Forecast", "Scored", "Series", "Settings", "TsadError", "__version__"]
