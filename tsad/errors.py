"""The one error hierarchy of tsad. No web imports here: ``tsad.api.errors`` maps
these to RFC 9457 problem details in exactly one place.

::

    TsadError
    ├── ConfigError                  bad TSAD_* setting (raised at start-up)
    ├── ClientError                  the caller sent something wrong (4xx)
    │   ├── InvalidInput        422  well-formed but invalid (bad timestamp, NaN, level)
    │   │   ├── NotEnoughPoints 422  fewer points than the model needs
    │   │   └── UnknownModel    422  model name not registered
    │   ├── BadRequest          400  malformed body
    │   │   └── AzureInvalidRequest 400  an Azure Anomaly Detector request the service refuses
    │   ├── TooLarge            413  too many points / too big a body
    │   ├── UnsupportedMediaType 415  a body that is not JSON
    │   ├── SeriesNotFound      404
    │   ├── FeedbackNotFound    404  no feedback record with that id
    │   ├── Conflict            409
    │   ├── Unauthorized        401
    │   └── RateLimited         429
    └── BackendError                 something on our side failed (5xx)
        ├── BufferUnavailable   503  Redis down: retry later
        ├── ModelFailed         500  a model raised
        ├── DeadlineExceeded    503  a model did not answer in time: retry later
        └── UpstreamError       502  TimeGPT or another remote answered badly
            └── UpstreamUnavailable  503  TimeGPT unreachable (connection refused, DNS)
                └── UpstreamTimeout  504  TimeGPT did not answer within its deadline
"""

from __future__ import annotations

from typing import Any


class TsadError(Exception):
    """Base of every error tsad raises on purpose."""

    status: int = 500
    title: str = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def __reduce__(self) -> tuple[Any, ...]:
        # errors cross process boundaries (model workers): subclasses take keyword-only
        # arguments that Exception's default pickling would not pass back
        return (_restore, (type(self), self.detail, dict(self.__dict__)))


def _restore(cls: type[TsadError], detail: str, state: dict[str, Any]) -> TsadError:
    err = cls.__new__(cls)
    Exception.__init__(err, detail)
    err.__dict__.update(state)
    return err


class ConfigError(TsadError):
    title = "Invalid configuration"


class ClientError(TsadError):
    status = 400
    title = "Bad request"


class InvalidInput(ClientError):
    status = 422
    title = "Invalid input"


class NotEnoughPoints(InvalidInput):
    title = "Not enough points"

    def __init__(self, detail: str, *, needed: int, got: int, **extra: Any) -> None:
        super().__init__(detail, needed=needed, got=got, **extra)
        self.needed = needed
        self.got = got


class UnknownModel(InvalidInput):
    title = "Unknown model"


class BadRequest(ClientError):
    status = 400
    title = "Bad request"


class AzureInvalidRequest(BadRequest):
    """What Azure Anomaly Detector answered 400 to, with its error code
    (``InvalidSeries``, ``InvalidGranularity``, ``BadArgument``...)."""

    title = "Invalid Azure Anomaly Detector request"

    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail, code=code, **extra)
        self.code = code


class TooLarge(ClientError):
    status = 413
    title = "Request too large"


class UnsupportedMediaType(ClientError):
    status = 415
    title = "Unsupported media type"


class SeriesNotFound(ClientError):
    status = 404
    title = "Series not found"


class FeedbackNotFound(ClientError):
    status = 404
    title = "Feedback not found"


class Conflict(ClientError):
    status = 409
    title = "Conflict"


class Unauthorized(ClientError):
    status = 401
    title = "Unauthorized"


class RateLimited(ClientError):
    status = 429
    title = "Too many requests"


class BackendError(TsadError):
    status = 500
    title = "Backend error"


class BufferUnavailable(BackendError):
    status = 503
    title = "Buffer unavailable"

    def __init__(self, detail: str, *, retry_after_s: int = 5, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after_s = retry_after_s


class ModelFailed(BackendError):
    status = 500
    title = "Model failed"


class UpstreamError(BackendError):
    status = 502
    title = "Upstream error"


class DeadlineExceeded(BackendError):
    status = 503
    title = "Deadline exceeded"

    def __init__(self, detail: str, *, retry_after_s: int = 5, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after_s = retry_after_s


class UpstreamUnavailable(UpstreamError):
    status = 503
    title = "Upstream unavailable"


class UpstreamTimeout(UpstreamUnavailable):
    status = 504
    title = "Upstream timeout"
