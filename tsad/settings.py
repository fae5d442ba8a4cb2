"""Settings: frozen dataclasses read from ``TSAD_*`` environment variables.

Built once (``Settings.from_env()``) by whoever starts the process and passed in;
nothing reads the environment at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from tsad.detect.incidents import GAP_STEPS
from tsad.detect.threshold import DEFAULT_SENSITIVITY
from tsad.errors import ConfigError
from tsad.models.catalogue import model_names


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def _str(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    return raw or None


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (_str(env, name) or default).lower()
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = (_str(env, name) or ("1" if default else "0")).lower()
    if raw not in ("1", "0", "true", "false", "yes", "no"):
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    return raw in ("1", "true", "yes")


RATE_UNITS = ("second", "minute", "hour", "day")


def _rate(env: Mapping[str, str], name: str) -> tuple[int, str] | None:
    """``100/second`` (or ``/minute``, ``/hour``, ``/day``); empty or ``0`` = no limit."""
    raw = (_str(env, name) or "0").lower()
    if raw in ("0", "off", "none"):
        return None
    count, _, unit = raw.partition("/")
    unit = unit.strip().removesuffix("s") or "second"
    if not count.strip().isdigit() or int(count) < 1 or unit not in RATE_UNITS:
        raise ConfigError(
            f"{name} must look like 100/second (units: {', '.join(RATE_UNITS)}), got {raw!r}"
        )
    return int(count), unit


BACKENDS = ("memory", "embedded", "redis")


def _backend(env: Mapping[str, str]) -> str:
    """TSAD_BUFFER, defaulting to redis when TSAD_REDIS_URL is set, else embedded."""
    url = _str(env, "TSAD_REDIS_URL")
    backend = _choice(env, "TSAD_BUFFER", BACKENDS, "redis" if url else "embedded")
    if backend == "redis" and not url:
        raise ConfigError("TSAD_BUFFER=redis needs TSAD_REDIS_URL")
    if backend != "redis" and url:
        raise ConfigError(f"TSAD_BUFFER={backend} cannot be combined with TSAD_REDIS_URL")
    return backend


@dataclass(frozen=True)
class BufferSettings:
    """Where points live and how many are kept."""

    redis_url: str | None = None
    max_points_per_series: int = 50_000
    max_age_s: int | None = None
    max_series: int = 100_000
    redis_timeout_s: float = 2.0
    # TSAD_REDIS_URL names a Redis Cluster node (also implied by a redis+cluster:// URL)
    redis_cluster: bool = False
    # "memory" (this process only), "embedded" (SQLite in data_dir, kept across restarts)
    # or "redis". Built by hand (tests, libraries) the default is memory; from the
    # environment (`tsad serve`) it is embedded unless TSAD_REDIS_URL is set.
    backend: str = "memory"
    data_dir: str | None = None  # None: $XDG_DATA_HOME/tsad or ~/.local/share/tsad
    data_sync: str = "normal"  # "full": fsync every group commit (survives power loss)


@dataclass(frozen=True)
class ModelSettings:
    """Which model runs by default and how detection thresholds are set."""

    default_model: str = "auto"
    detect_level: float = 99.0
    #: flag threshold knob, Azure's scale: 0–99.9, higher flags more (tsad.detect.threshold)
    sensitivity: float = DEFAULT_SENSITIVITY
    min_points: int = 12
    max_horizon: int = 10_000
    fit_window: int = 2_016
    timegpt_api_key: str | None = field(default=None, repr=False)
    timegpt_base_url: str | None = None
    timegpt_deadline_s: float = 10.0
    model_dir: str | None = None
    runner: str = "process"
    model_workers: int = 1
    # neural models (tsad.models.neural): None = per-model default steps; torch
    # intra-op threads for predict and for fit (0 = every core)
    neural_max_steps: int | None = None
    neural_threads: int = 1
    neural_fit_threads: int = 1
    # the global neural model per kind and step, retrained on every stored series
    # of that kind (tsad.global_fit): how often (0 = never), how long, on how many
    neural_global_every_s: float = 86_400.0
    neural_global_steps: int = 0  # 0: the model's own (nhits/patchtst 1,000)
    neural_global_max_series: int = 2_000
    neural_global_deadline_s: float = 3_600.0


@dataclass(frozen=True)
class ApiSettings:
    """HTTP limits and auth."""

    api_keys: tuple[str, ...] = field(default=(), repr=False)
    max_points_per_request: int = 100_000
    max_series_per_request: int = 1_000
    max_body_bytes: int = 16 * 1024 * 1024
    request_deadline_s: float = 60.0
    # with api_keys set, writes always need a key; reads and /health /ready /metrics
    # only when these say so (a dashboard or a scraper often cannot send one)
    auth_reads: bool = False
    auth_ops: bool = False
    # per-key (else per-client-address) request budget: (count, unit); None = unlimited
    rate_limit: tuple[int, str] | None = None
    # each level is another pair of band columns to compute and send
    max_levels: int = 10


@dataclass(frozen=True)
class WorkerSettings:
    """Refits across processes (Redis Stream + consumer group, ``tsad worker``)."""

    reclaim_idle_s: float = 60.0  # an entry idle this long belongs to a dead worker
    pending_ttl_s: int = 3_600  # the longest a series stays marked "refit queued"
    block_ms: int = 1_000  # how long one claim waits for work (bounds stop latency)
    embedded: bool = True  # with Redis, each `tsad serve` also works the shared queue


ALERT_DIRECTIONS = ("up", "down", "both")


@dataclass(frozen=True)
class IntegrationSettings:
    """Monitoring integrations: inbound webhooks, outbound alerts, Prometheus metrics.

    ``alert_n`` of the last ``alert_m`` scored points (in ``alert_direction``) must be
    anomalous before an outbound alert fires; it resolves after ``alert_recovery``
    consecutive points that are not.
    """

    webhook_secret: str | None = field(default=None, repr=False)
    alert_bucket_ms: int = 60_000
    alert_fill_max: int = 1_440
    seen_fingerprints_max: int = 10_000
    alertmanager_urls: tuple[str, ...] = ()
    alert_direction: str = "both"
    # flags are already one per incident (the scorer damps repeats): alert on the first
    # flag of an incident, resolve after the incident's gap of quiet points
    alert_n: int = 1
    alert_m: int = 1
    alert_recovery: int = GAP_STEPS
    outbound_queue_size: int = 1_000
    outbound_retries: int = 3
    outbound_timeout_s: float = 5.0
    outbound_backoff_s: float = 0.5
    external_url: str | None = None
    metrics_per_series: bool = False
    # directories a multivariate model's CSV data source may be read from (none: groups only)
    mv_data_dirs: tuple[str, ...] = ()


def _integrations(env: Mapping[str, str]) -> IntegrationSettings:
    from tsad.errors import InvalidInput
    from tsad.series import parse_freq

    bucket = _str(env, "TSAD_ALERT_BUCKET") or "1min"
    try:
        bucket_ms = parse_freq(bucket)
    except InvalidInput as exc:
        raise ConfigError(f"TSAD_ALERT_BUCKET: {exc.detail}") from exc
    n = _int(env, "TSAD_ALERT_N", 1)
    m = _int(env, "TSAD_ALERT_M", n)
    if n > m:
        raise ConfigError(f"TSAD_ALERT_N ({n}) must not exceed TSAD_ALERT_M ({m})")
    urls = tuple(
        u.strip().rstrip("/") for u in env.get("TSAD_ALERTMANAGER_URLS", "").split(",") if u.strip()
    )
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"TSAD_ALERTMANAGER_URLS: {url!r} is not an http(s) URL")
    per_series = (_str(env, "TSAD_METRICS_PER_SERIES") or "false").lower()
    if per_series not in ("1", "0", "true", "false", "yes", "no"):
        raise ConfigError(f"TSAD_METRICS_PER_SERIES must be true or false, got {per_series!r}")
    return IntegrationSettings(
        webhook_secret=_str(env, "TSAD_WEBHOOK_SECRET"),
        alert_bucket_ms=bucket_ms,
        alert_fill_max=_int(env, "TSAD_ALERT_FILL_MAX", 1_440, minimum=0),
        seen_fingerprints_max=_int(env, "TSAD_SEEN_FINGERPRINTS_MAX", 10_000),
        alertmanager_urls=urls,
        alert_direction=_choice(env, "TSAD_ALERT_DIRECTION", ALERT_DIRECTIONS, "both"),
        alert_n=n,
        alert_m=m,
        alert_recovery=_int(env, "TSAD_ALERT_RECOVERY", GAP_STEPS),
        outbound_queue_size=_int(env, "TSAD_OUTBOUND_QUEUE_SIZE", 1_000),
        outbound_retries=_int(env, "TSAD_OUTBOUND_RETRIES", 3, minimum=0),
        outbound_timeout_s=_float(env, "TSAD_OUTBOUND_TIMEOUT_S", 5.0),
        outbound_backoff_s=_float(env, "TSAD_OUTBOUND_BACKOFF_S", 0.5),
        external_url=_str(env, "TSAD_EXTERNAL_URL"),
        metrics_per_series=per_series in ("1", "true", "yes"),
        mv_data_dirs=tuple(
            d.strip() for d in env.get("TSAD_MV_DATA_DIRS", "").split(",") if d.strip()
        ),
    )


@dataclass(frozen=True)
class RemoteWriteSettings:
    """Prometheus remote write (``POST /api/v1/write``): which series to keep.

    ``match`` holds PromQL series selectors (a series is kept when it matches any;
    none = keep all); ``max_new_series`` bounds the series one request may create.
    """

    match: tuple[str, ...] = ()
    max_new_series: int = 1_000


def _remote_write(env: Mapping[str, str]) -> RemoteWriteSettings:
    from tsad.integrations.remote_write.select import parse_selectors

    raw = env.get("TSAD_REMOTE_WRITE_MATCH", "")
    try:
        match = tuple(str(s) for s in parse_selectors(raw))
    except ValueError as exc:
        raise ConfigError(f"TSAD_REMOTE_WRITE_MATCH: {exc}") from exc
    return RemoteWriteSettings(
        match=match, max_new_series=_int(env, "TSAD_REMOTE_WRITE_MAX_NEW_SERIES", 1_000, 0)
    )


@dataclass(frozen=True)
class FeedbackSettings:
    """Operator feedback and the learned alert ranker (``tsad.feedback``).

    The ranker retrains every ``retrain_every_s`` (first ``first_train_s`` after
    start), needs ``min_labels`` labelled alerts (``min_per_class`` of each kind)
    before it scores anything, and an outbound alert whose ``p_true`` is below
    ``suppress_below`` is not sent (0: never suppress)."""

    retrain_every_s: float = 86_400.0
    first_train_s: float = 5.0
    min_labels: int = 30
    min_per_class: int = 5
    suppress_below: float = 0.0


def _feedback(env: Mapping[str, str]) -> FeedbackSettings:
    suppress = _float(env, "TSAD_FEEDBACK_SUPPRESS_BELOW", 0.0)
    if not 0.0 <= suppress < 1.0:
        raise ConfigError(f"TSAD_FEEDBACK_SUPPRESS_BELOW must be in [0, 1), got {suppress}")
    every = _float(env, "TSAD_FEEDBACK_RETRAIN_S", 86_400.0)
    if every <= 0:
        raise ConfigError(f"TSAD_FEEDBACK_RETRAIN_S must be > 0, got {every}")
    return FeedbackSettings(
        retrain_every_s=every,
        min_labels=_int(env, "TSAD_FEEDBACK_MIN_LABELS", 30, minimum=2),
        min_per_class=_int(env, "TSAD_FEEDBACK_MIN_PER_CLASS", 5),
        suppress_below=suppress,
    )


@dataclass(frozen=True)
class Settings:
    """Everything a tsad process is configured with."""

    buffer: BufferSettings = field(default_factory=BufferSettings)
    models: ModelSettings = field(default_factory=ModelSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    integrations: IntegrationSettings = field(default_factory=IntegrationSettings)
    remote_write: RemoteWriteSettings = field(default_factory=RemoteWriteSettings)
    feedback: FeedbackSettings = field(default_factory=FeedbackSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``env`` (default: the process environment)."""
        env = os.environ if env is None else env
        default_model = (_str(env, "TSAD_DEFAULT_MODEL") or "auto").lower()
        if default_model not in model_names():
            raise ConfigError(
                f"TSAD_DEFAULT_MODEL must be one of {', '.join(model_names())}, "
                f"got {default_model!r}"
            )
        level = _float(env, "TSAD_DETECT_LEVEL", 99.0)
        if not 0 < level < 100:
            raise ConfigError(f"TSAD_DETECT_LEVEL must be in (0, 100), got {level}")
        sensitivity = _float(env, "TSAD_SENSITIVITY", DEFAULT_SENSITIVITY)
        if not 0 <= sensitivity < 100:
            raise ConfigError(f"TSAD_SENSITIVITY must be in [0, 100), got {sensitivity}")
        max_age = _int(env, "TSAD_MAX_AGE_S", 0, minimum=0)
        keys = tuple(k.strip() for k in env.get("TSAD_API_KEYS", "").split(",") if k.strip())
        return cls(
            buffer=BufferSettings(
                backend=_backend(env),
                data_dir=_str(env, "TSAD_DATA_DIR"),
                data_sync=_choice(env, "TSAD_DATA_SYNC", ("normal", "full"), "normal"),
                redis_url=_str(env, "TSAD_REDIS_URL"),
                max_points_per_series=_int(env, "TSAD_MAX_POINTS_PER_SERIES", 50_000),
                max_age_s=max_age or None,
                max_series=_int(env, "TSAD_MAX_SERIES", 100_000),
                redis_timeout_s=_float(env, "TSAD_REDIS_TIMEOUT_S", 2.0),
                redis_cluster=_flag(env, "TSAD_REDIS_CLUSTER"),
            ),
            models=ModelSettings(
                default_model=default_model,
                detect_level=level,
                sensitivity=sensitivity,
                min_points=_int(env, "TSAD_MIN_POINTS", 12, minimum=3),
                max_horizon=_int(env, "TSAD_MAX_HORIZON", 10_000),
                fit_window=_int(env, "TSAD_FIT_WINDOW", 2_016, minimum=24),
                timegpt_api_key=_str(env, "NIXTLA_API_KEY"),
                timegpt_base_url=_str(env, "TSAD_TIMEGPT_BASE_URL"),
                timegpt_deadline_s=_float(env, "TSAD_TIMEGPT_DEADLINE_S", 10.0),
                model_dir=_str(env, "TSAD_MODEL_DIR"),
                runner=_choice(env, "TSAD_RUNNER", ("process", "thread"), "process"),
                model_workers=_int(env, "TSAD_MODEL_WORKERS", 1),
                neural_max_steps=_int(env, "TSAD_NEURAL_MAX_STEPS", 0, minimum=0) or None,
                neural_threads=_int(env, "TSAD_NEURAL_THREADS", 1),
                neural_fit_threads=_int(env, "TSAD_NEURAL_FIT_THREADS", 1, minimum=0),
                neural_global_every_s=_float(env, "TSAD_NEURAL_GLOBAL_EVERY_S", 86_400.0),
                neural_global_steps=_int(env, "TSAD_NEURAL_GLOBAL_STEPS", 0, minimum=0),
                neural_global_max_series=_int(env, "TSAD_NEURAL_GLOBAL_MAX_SERIES", 2_000),
                neural_global_deadline_s=_float(env, "TSAD_NEURAL_GLOBAL_DEADLINE_S", 3_600.0),
            ),
            api=ApiSettings(
                api_keys=keys,
                max_points_per_request=_int(env, "TSAD_MAX_POINTS_PER_REQUEST", 100_000),
                max_series_per_request=_int(env, "TSAD_MAX_SERIES_PER_REQUEST", 1_000),
                max_body_bytes=_int(env, "TSAD_MAX_BODY_BYTES", 16 * 1024 * 1024),
                request_deadline_s=_float(env, "TSAD_REQUEST_DEADLINE_S", 60.0),
                auth_reads=_flag(env, "TSAD_AUTH_READS"),
                auth_ops=_flag(env, "TSAD_AUTH_OPS"),
                rate_limit=_rate(env, "TSAD_RATE_LIMIT"),
                max_levels=_int(env, "TSAD_MAX_LEVELS", 10),
            ),
            worker=WorkerSettings(
                reclaim_idle_s=_float(env, "TSAD_WORKER_RECLAIM_IDLE_S", 60.0),
                pending_ttl_s=_int(env, "TSAD_REFIT_PENDING_TTL_S", 3_600),
                block_ms=_int(env, "TSAD_WORKER_BLOCK_MS", 1_000),
                embedded=_choice(env, "TSAD_EMBEDDED_WORKER", ("1", "0", "true", "false"), "1")
                in ("1", "true"),
            ),
            integrations=_integrations(env),
            remote_write=_remote_write(env),
            feedback=_feedback(env),
        )
