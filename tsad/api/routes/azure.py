"""Azure Anomaly Detector-compatible routes (univariate, v1.0 and v1.1; v1.1 multivariate).

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

from litestar import Request, Response, Router, delete, get, post

from tsad.api.errors import AZURE_EXCEPTION_HANDLERS
from tsad.integrations import azure_compat as compat
from tsad.integrations import azure_mv
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


# ------------------------------------------------------- v1.1 multivariate (azure_mv)


def _split(spec: str, action: str) -> str:
    model_id, _, verb = spec.partition(":")
    if verb != action:
        from tsad.errors import SeriesNotFound

        raise SeriesNotFound(f"no route {spec!r}")
    return model_id


@post("/multivariate/models", status_code=201)
async def mv_train(request: Req, service: TsadService) -> Response[dict[str, Any]]:
    """Train a multivariate model on a tsad group or an allowed CSV."""
    body = await azure_mv.train(service, await request.body())
    base = str(request.base_url).rstrip("/")
    location = f"{base}/anomalydetector/v1.1/multivariate/models/{body['modelId']}"
    return Response(body, status_code=201, headers={"Location": location})


@get("/multivariate/models")
async def mv_list(request: Req, service: TsadService) -> dict[str, Any]:
    """The trained models, a page at a time (``skip``, ``top`` in the query)."""
    skip = azure_mv.query_int(request.query_params.get("skip"), "skip", 0)
    top = azure_mv.query_int(request.query_params.get("top"), "top", 10)
    return azure_mv.list_models(service, max(0, skip), max(1, min(top, 300)))


@get("/multivariate/models/{model_id:str}")
async def mv_get(model_id: str, service: TsadService) -> dict[str, Any]:
    """One trained model."""
    return azure_mv.encode_model(service.groups.models.get(model_id))


@delete("/multivariate/models/{model_id:str}", status_code=204)
async def mv_delete(model_id: str, service: TsadService) -> None:
    """Delete a trained model."""
    service.groups.models.delete(model_id)


@post("/multivariate/models/{spec:str}", status_code=200)
async def mv_detect(spec: str, request: Req, service: TsadService) -> Response[dict[str, Any]]:
    """``{modelId}:detect-last`` (synchronous) or ``{modelId}:detect-batch`` (202)."""
    raw = await request.body()
    if spec.endswith(":detect-last"):
        return Response(azure_mv.detect_last(service, _split(spec, "detect-last"), raw))
    res = azure_mv.submit_batch(service, _split(spec, "detect-batch"), raw)
    base = str(request.base_url).rstrip("/")
    location = f"{base}/anomalydetector/v1.1/multivariate/detect-batch/{res.result_id}"
    return Response(
        azure_mv.encode_result(res, service),
        status_code=202,
        headers={"Operation-Location": location, "operation-id": res.result_id},
    )


@get("/multivariate/detect-batch/{result_id:str}")
async def mv_result(result_id: str, service: TsadService) -> dict[str, Any]:
    """A batch run: its status, then its rows with top contributors."""
    return azure_mv.encode_result(service.groups.models.result(result_id), service)


_MV = [mv_train, mv_list, mv_get, mv_delete, mv_detect, mv_result]


def _router(version: str) -> Router:
    multivariate = _MV if version == "v1.1" else []
    return Router(
        path=f"/anomalydetector/{version}",
        route_handlers=[entire_detect, last_detect, changepoint_detect, *multivariate],
        exception_handlers=AZURE_EXCEPTION_HANDLERS,
        # the SDK always sends its key: with TSAD_API_KEYS set, every route checks it
        opt={"auth": "always"},
        tags=["Azure Anomaly Detector-compatible"],
    )


azure_routes = [_router("v1.0"), _router("v1.1")]
