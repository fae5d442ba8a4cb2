"""The ``nixtla`` SDK at arm's length: imported without touching this process's
logging, its log records scrubbed of API keys, its failures turned into tsad
errors whose messages carry no secret. Used by ``tsad.models.timegpt``."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence
from typing import Any

from tsad.errors import ModelFailed, TsadError, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from tsad.settings import ModelSettings

SDK_LOGGER = "nixtla.nixtla_client"
_IMPORT_LOCK = threading.Lock()


def import_nixtla() -> Any:
    """``import nixtla`` without letting it reconfigure this process's logging."""
    with _IMPORT_LOCK:
        if "nixtla" in sys.modules:
            return sys.modules["nixtla"]
        root, httpx_log = logging.getLogger(), logging.getLogger("httpx")
        handlers, level, httpx_level = list(root.handlers), root.level, httpx_log.level
        try:
            import nixtla
        finally:
            for handler in root.handlers[:]:
                if handler not in handlers:
                    root.removeHandler(handler)
                    handler.close()
            root.setLevel(level)
            httpx_log.setLevel(httpx_level)
        sdk_log = logging.getLogger("nixtla")
        if sdk_log.level == logging.NOTSET:
            # its INFO lines ("Validating inputs...") are per-call noise in a service
            sdk_log.setLevel(logging.WARNING)
        return nixtla


class _Redact(logging.Filter):
    """Scrubs API keys from the SDK's log records (its retry log quotes error bodies)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        return True


REDACT = _Redact()


def scrub(text: str, secrets: set[str] | Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def translate(exc: Exception, settings: ModelSettings) -> TsadError:
    """An SDK/HTTP failure → a tsad error whose message carries no secret."""
    import httpx

    nixtla = import_nixtla()
    secrets = [settings.timegpt_api_key or ""]
    where = settings.timegpt_base_url or "the Nixtla API"
    if isinstance(exc, nixtla.ApiError):
        code = exc.status_code
        said = scrub(_summary(exc.body), secrets)
        if code in (401, 403):
            return UpstreamError(
                f"TimeGPT rejected the API key (HTTP {code}); check NIXTLA_API_KEY",
                upstream_status=code,
            )
        if code == 429:
            return UpstreamUnavailable("TimeGPT rate limit reached (HTTP 429)", upstream_status=429)
        if code is not None and 400 <= code < 500:
            return UpstreamError(
                f"TimeGPT rejected the series (HTTP {code}): {said}", upstream_status=code
            )
        return UpstreamError(f"TimeGPT failed (HTTP {code}): {said}", upstream_status=code or 0)
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamTimeout(f"TimeGPT did not answer within {settings.timegpt_deadline_s:g} s")
    if isinstance(exc, httpx.HTTPError | OSError) or "httpcore" in type(exc).__module__:
        return UpstreamUnavailable(f"cannot reach TimeGPT at {where}: {type(exc).__name__}")
    if isinstance(exc, ValueError):
        return ModelFailed(f"TimeGPT client refused the series: {scrub(str(exc), secrets)}")
    return UpstreamError(
        f"TimeGPT call failed: {type(exc).__name__}: {scrub(str(exc), secrets)[:300]}"
    )


def _summary(body: Any) -> str:
    if isinstance(body, dict):
        body = body.get("detail", body.get("message", body))
    return str(body)[:300]
