"""``GET /v1/series/{id}/export``: everything tsad keeps for one series in one
document — its settings and model state, points, flagged points and the operators'
feedback — to archive it or move it to another tsad."""

from __future__ import annotations

from litestar import get

from tsad.api import encode
from tsad.api.feedback_schemas import FeedbackOut
from tsad.api.routes.feedback import record_out
from tsad.api.schemas import ScoredPoint, StoredPoint, Wire
from tsad.service import TsadService
from tsad.state import SeriesMeta


class SeriesExport(Wire):
    series_id: str
    meta: SeriesMeta
    points: list[StoredPoint]
    anomalies: list[ScoredPoint]
    feedback: list[FeedbackOut]


@get("/v1/series/{series_id:str}/export")
async def export_series(series_id: str, service: TsadService) -> SeriesExport:
    """A series' meta, points, anomalies and feedback in one document."""
    view = await service.series(series_id)
    window = await service.points(series_id, None, None)
    records = await service.anomalies(series_id, None, None)
    feedback = await service.feedback.records(series_id)
    return SeriesExport(
        series_id=series_id,
        meta=view.meta,
        points=encode.stored_points(window),
        anomalies=encode.anomaly_points(records),
        feedback=[record_out(r) for r in feedback],
    )
