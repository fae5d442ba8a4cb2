"""Azure Anomaly Detector-compatible routes (univariate, v1.0 and v1.1).

``AnomalyDetectorClient(endpoint, AzureKeyCredential(key))`` from
``azure-ai-anomalydetector`` works unchanged with ``endpoint`` = tsad's base URL:
the SDK calls ``{endpoint}/anomalydetector/v1.1/timeseries/.../detect`` with the
key in ``Ocp-Apim-Subscription-Key`` (``tsad.api.auth`` accepts it). Decoding
and encoding live in ``tsad.integrations.azure_wire`` / ``azure_compat``;
errors leave in the service's shape through ``AZURE_EXCEPTION_HANDLERS``
(``tsad.api.errors``).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, post

from tsad.api.errors import AZURE_EXCEPTION_HANDLERS
from tsad.integrations import azure_compat as compat
from tsad.integrations.azure_wire import decode_changepoint, decode_detect
from tsad.service import TsadService

Req = Request[Any, Any, Any]


def _version(request: Req) -> str:
    return "v1.0" if "/v1.0/" in request.url.path else "v1.1"


@post("/timeseries/entire/detect", status_code=200)
async def entire_detect(request: Req, service: TsadService) -> dict[str, Any]:
    """Every point of the series scored with one model fitted on the whole series."""
    opts = decode_detect(await request.body())
    return await compat.entire_detect(service, opts, version=_version(request))


@post("/timeseries/last/detect", status_code=200)
async def last_detect(request: Req, service: TsadService) -> dict[str, Any]:
    """The anomaly status of the series' last point."""
    opts = decode_detect(await request.body())
    return await compat.last_detect(service, opts, version=_version(request))


@post("/timeseries/changepoint/detect", status_code=200)
async def changepoint_detect(request: Req, service: TsadService) -> dict[str, Any]:
    """A change-point flag and a confidence for every point."""
    return await compat.changepoint_detect(service, decode_changepoint(await request.body()))


def _router(version: str) -> Router:
    return Router(
        path=f"/anomalydetector/{version}",
        route_handlers=[entire_detect, last_detect, changepoint_detect],
        exception_handlers=AZURE_EXCEPTION_HANDLERS,
        # the SDK always sends its key: with TSAD_API_KEYS set, every route checks it
        opt={"auth": "always"},
        tags=["Azure Anomaly Detector-compatible"],
    )


azure_routes = [_router("v1.0"), _router("v1.1")]
