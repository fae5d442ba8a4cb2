"""The ``tsad`` command line: ``serve``, ``detect``, ``forecast``, ``worker``, ``consume``
and ``bench``.

``detect`` and ``forecast`` run the same sync jobs the API sends to its model
workers, in-process, on files (see ``tsad.io``). Heavy imports (pandas,
statsforecast, uvicorn, the web app, matplotlib) happen inside the commands so
``tsad --help`` stays fast and never touches torch or nixtla.

Exit codes: 0 done; 1 something on tsad's side failed (a model, writing a file);
2 the input or configuration is wrong (bad file, bad option, bad TSAD_* setting).
Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from tsad import __version__
from tsad.errors import ClientError, ConfigError, TsadError
from tsad.models.catalogue import choices_text
from tsad.redact import redacted_url
from tsad.settings import Settings

if TYPE_CHECKING:
    from tsad.io import SeriesData

T = TypeVar("T")

app = typer.Typer(
    name="tsad",
    help="Self-hosted time-series forecasting and anomaly detection.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
err = Console(stderr=True, highlight=False)


class Mode(StrEnum):
    batch = "batch"
    online = "online"


class Engine(StrEnum):
    local = "local"
    dask = "dask"


ENGINE_HELP = "local: this process; dask: partitions of series on a Dask cluster."
SCHEDULER_HELP = "Dask scheduler address (tcp://host:8786); unset: a 2-worker LocalCluster."


class LogLevel(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"
    trace = "trace"


# --------------------------------------------------------------------------- errors


def fail(message: str, code: int) -> NoReturn:
    """One line on stderr, then exit with ``code``."""
    err.print(f"tsad: error: {message}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn tsad's own errors into one-line messages and exit codes 2 (input) or 1 (ours)."""
    try:
        yield
    except (ClientError, ConfigError) as exc:
        fail(exc.detail, 2)
    except TsadError as exc:
        fail(exc.detail, 1)
    except OSError as exc:
        fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "), 1)


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        fail(f"bad configuration: {exc.detail}", 2)


def describe_buffer(settings: Settings) -> str:
    """Which buffer a process uses, with any password in the Redis URL masked."""
    url = settings.buffer.redis_url
    if not url and settings.buffer.backend == "embedded":
        from tsad.buffer.embedded_disk import data_dir

        return f"embedded (SQLite in {data_dir(settings.buffer)}; TSAD_DATA_DIR)"
    if not url:
        return "memory (in-process, lost on restart; TSAD_BUFFER=embedded keeps it)"
    return f"Redis at {redacted_url(url)}"


# --------------------------------------------------------------------------- serve, worker


def _check_data_dir(settings: Settings) -> None:
    """Fail with one line before binding if the embedded store's directory cannot be
    used (another tsad holds it, no permission), instead of a start-up traceback."""
    if settings.buffer.backend != "embedded" or settings.buffer.redis_url:
        return
    import os

    from tsad.buffer.embedded_disk import data_dir, lock_dir

    os.close(lock_dir(data_dir(settings.buffer)))


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    log_level: LogLevel = typer.Option(LogLevel.info, help="uvicorn log level."),
    timeout_keep_alive: int = typer.Option(
        5, min=1, help="Seconds an idle keep-alive connection is kept open."
    ),
    timeout_graceful_shutdown: int = typer.Option(
        30, min=1, help="On SIGTERM, seconds in-flight requests get to finish."
    ),
    limit_concurrency: int | None = typer.Option(
        None, min=1, help="Answer 503 beyond this many open connections (slow clients)."
    ),
    workers: int = typer.Option(
        1,
        min=1,
        max=64,
        help="HTTP worker processes sharing the port. More than 1 needs TSAD_REDIS_URL: "
        "the embedded store belongs to one process.",
    ),
) -> None:
    """Run the HTTP API (uvicorn) on the embedded store (TSAD_DATA_DIR) or Redis."""
    settings = load_settings()
    if workers > 1 and not settings.buffer.redis_url:
        fail(
            f"--workers {workers} needs TSAD_REDIS_URL: the embedded store (and the memory "
            "buffer) live in one process, so worker processes would not see each other's "
            "points; run one process, or point the workers at Redis",
            2,
        )
    with friendly_errors():
        import uvicorn

        from tsad.api.app import create_app

        _check_data_dir(settings)
        application = create_app(settings) if workers == 1 else None
    base = base_url(host, port)
    shown = f" · {workers} workers" if workers > 1 else ""
    print(f"tsad {__version__} on {base} · buffer: {describe_buffer(settings)}{shown}")
    print(f"console: {base}/ · API docs: {base}/schema · Ctrl-C or SIGTERM stops", flush=True)
    common: dict[str, Any] = dict(
        host=host,
        port=port,
        log_level=log_level.value,
        timeout_keep_alive=timeout_keep_alive,
        timeout_graceful_shutdown=timeout_graceful_shutdown,
        limit_concurrency=limit_concurrency,
    )
    # uvicorn owns SIGINT/SIGTERM: it stops accepting, finishes in-flight requests, runs shutdown
    if application is not None:
        uvicorn.run(application, **common)
        return
    import os

    from tsad.api.workers import SUPERVISOR_ENV

    # each worker process builds its own app from the same environment; it exits when
    # this supervisor dies, however it dies
    os.environ[SUPERVISOR_ENV] = str(os.getpid())
    uvicorn.run("tsad.api.workers:worker_app", factory=True, workers=workers, **common)


def base_url(host: str, port: int) -> str:
    """The URL a person on this machine opens for a server bound to ``host``."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    open_browser: bool = typer.Option(False, "--open", help="Open the console in a browser."),
) -> None:
    """Start the server, feed it the shipped sample series and print the console URL."""
    from tsad.demo_server import run_demo

    with friendly_errors():
        run_demo(load_settings(), host, port, open_browser=open_browser)


@app.command()
def sample(
    out: Path = typer.Argument(Path("web_requests.csv"), help="Where to write the CSV."),
) -> None:
    """Write the shipped sample series (timestamp,value; 10 days every 10 minutes)."""
    import shutil

    from tsad.samples import SAMPLE_CSV

    shutil.copyfile(SAMPLE_CSV, out)
    print(f"wrote {out} (1440 points, a spike and a short outage on the last day)")


@app.command()
def worker(
    consumer: str | None = typer.Option(
        None, help="Consumer name in the Redis group (default: hostname-pid)."
    ),
) -> None:
    """Fit models in the background, consuming the refit queue in Redis."""
    settings = load_settings()
    if not settings.buffer.redis_url:
        fail(
            "tsad worker needs Redis: set TSAD_REDIS_URL (e.g. redis://localhost:6379/0); "
            "without it `tsad serve` refits in-process",
            2,
        )
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        from tsad.worker import main as run_worker_main
    except ModuleNotFoundError as exc:
        if exc.name != "tsad.worker":
            raise
        fail("this build of tsad has no background worker (tsad.worker is missing)", 1)
    print(f"tsad worker {__version__} · buffer: {describe_buffer(settings)}", flush=True)
    with friendly_errors():
        run_worker_main(settings, consumer)


@app.command()
def consume(
    source: str = typer.Argument(
        ..., help="redis://HOST:PORT/DB (Redis Streams) or nats://HOST:PORT (NATS JetStream)."
    ),
    stream: str = typer.Option("metrics", help="Redis stream key, or JetStream stream name."),
    group: str = typer.Option("tsad", help="Consumer group (Redis) or durable consumer (NATS)."),
    consumer: str | None = typer.Option(
        None, help="Consumer name in the Redis group (default: hostname-pid)."
    ),
    subject: str | None = typer.Option(None, help="NATS only: consume only this subject."),
    fmt: str = typer.Option("auto", "--format", help="auto, json or influx (line protocol)."),
    precision: str = typer.Option("ns", help="Line-protocol timestamp unit: ns, us, ms, s."),
    batch: int = typer.Option(500, min=1, help="Messages per fetch (acked together)."),
    dead_letter: str | None = typer.Option(
        None, help="Where bad messages go: Redis stream (default STREAM:dead) or NATS subject."
    ),
) -> None:
    """Read metric points from a stream into tsad (same ingest path as HTTP), at least once."""
    import asyncio
    import logging

    settings = load_settings()
    from tsad.integrations.streams.consumer import ConsumeOptions
    from tsad.integrations.streams.formats import FORMATS
    from tsad.integrations.streams.influx import PRECISION_PER_MS
    from tsad.integrations.streams.run import run_consume
    from tsad.worker import default_consumer_name

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}", 2)
    if precision not in PRECISION_PER_MS:
        fail(f"--precision must be one of {', '.join(PRECISION_PER_MS)}, got {precision!r}", 2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print(f"tsad consume {__version__} · buffer: {describe_buffer(settings)}", flush=True)
    with friendly_errors():
        stats = asyncio.run(
            run_consume(
                settings,
                source,
                stream=stream,
                group=group,
                consumer=consumer or default_consumer_name(),
                subject=subject,
                dead_letter=dead_letter,
                options=ConsumeOptions(fmt=fmt, precision=precision, batch=batch),
            )
        )
    print(
        f"consumed {stats.messages} messages ({stats.points} points, {stats.accepted} new, "
        f"{stats.duplicates} duplicates, {stats.anomalies} anomalies); "
        f"{stats.dead_lettered} dead-lettered",
        flush=True,
    )


# --------------------------------------------------------------------------- detect, forecast


def run_each(
    series: Sequence[SeriesData], job: Callable[[SeriesData], T], what: str
) -> list[tuple[SeriesData, T]]:
    """Run ``job`` per series in this process (the local engine; see ``tsad.engine``)."""
    from tsad.engine.local import run_local

    return run_local(series, job, what)


def run_batch(
    series: Sequence[SeriesData],
    job: Callable[[SeriesData], T],
    what: str,
    *,
    engine: Engine,
    scheduler: str | None,
) -> list[tuple[SeriesData, T]]:
    """Run ``job`` on every series with the chosen engine (dask is imported only for dask)."""
    from tsad.engine import run_batch as run_engine

    if engine is Engine.dask:
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            fail('--engine dask needs Dask: pip install "tsad[dask]"', 2)
    elif scheduler:
        fail("--scheduler is only used with --engine dask", 2)
    return run_engine(series, job, what, engine=engine.value, scheduler=scheduler)


def _prefit(
    settings: Settings, model: str, series: Sequence[SeriesData], freq: str | None, h: int | None
) -> None:
    """Neural models on many series: fit one global model first, predict every series."""
    if len(series) > 1:
        from tsad.engine.neural_prefit import prefit_global

        prefit_global(settings.models, model, series, freq, h)


def _report_console(output: str | None) -> Console:
    # with `--output -` the table goes to stdout, so the summary moves to stderr
    return err if output == "-" else Console(highlight=False)


def _finish(output: str | None, rows: int, plots: Sequence[Path]) -> None:
    if output and output != "-":
        err.print(f"wrote {output} ({rows} rows)", markup=False)
    if plots:
        # the files actually written: many series get one <stem>-<id>.png each
        names = ", ".join(str(p) for p in plots[:5])
        more = f", … {len(plots) - 5} more in {plots[0].parent}" if len(plots) > 5 else ""
        err.print(
            f"wrote {len(plots)} plot{'s' if len(plots) != 1 else ''}: {names}{more}",
            markup=False,
            soft_wrap=True,
        )


@app.command()
def detect(
    file: Path = typer.Argument(..., help="CSV/Parquet: timestamp,value or unique_id,ds,y."),
    model: str = typer.Option("auto", help=f"{choices_text()}."),
    level: float = typer.Option(99.0, help="Band level in percent, 0 < level < 100."),
    mode: Mode = typer.Option(Mode.batch, help="batch: in-sample bands; online: past only."),
    freq: str | None = typer.Option(None, help="Sampling step ('5min', 'h'); inferred if unset."),
    output: str | None = typer.Option(
        None, help="Write scored points (CSV, .parquet, - for stdout)."
    ),
    plot: Path | None = typer.Option(
        None, help="PNG of series, band and anomalies; many series: OUT-<id>.png each."
    ),
    engine: Engine = typer.Option(Engine.local, help=ENGINE_HELP),
    scheduler: str | None = typer.Option(None, help=SCHEDULER_HELP),
    sensitivity: float | None = typer.Option(
        None, help="0-99.9, higher flags more (default TSAD_SENSITIVITY)."
    ),
    max_anomaly_ratio: float | None = typer.Option(
        None, help="Flag at most this share of the points (0 < r <= 0.5)."
    ),
    changepoints: bool = typer.Option(
        False, "--changepoints", help="Find change points (level shifts) instead of anomalies."
    ),
    multivariate: bool = typer.Option(
        False,
        "--multivariate",
        help="FILE is wide (timestamp + one column per variable): score the rows together.",
    ),
    detector: str = typer.Option("pca", help="--multivariate detector: pca or iforest."),
    warmup: int = typer.Option(
        200,  # tsad.multivariate.groups.WARMUP_ROWS (not imported: the CLI starts light)
        min=10,
        help="--multivariate --mode online: rows the model is fitted on first.",
    ),
) -> None:
    """Score every point of FILE and flag the anomalies (score >= the sensitivity's threshold)."""
    from tsad.detect.threshold import check_ratio, check_sensitivity
    from tsad.series import check_levels

    settings = load_settings()
    if multivariate:
        from tsad.cli_multivariate import run_multivariate

        with friendly_errors():
            sens = check_sensitivity(
                sensitivity if sensitivity is not None else settings.models.sensitivity
            )
            rows = run_multivariate(
                file,
                detector,
                mode.value,
                sens,
                check_ratio(max_anomaly_ratio),
                output,
                plot,
                _report_console(output),
                warmup,
            )
            _finish(output, rows, [plot] if plot else [])
        return
    if changepoints:
        from tsad.cli_changepoints import run_changepoints

        with friendly_errors():
            rows = run_changepoints(
                file, freq, output, mode.value, settings, _report_console(output)
            )
            _finish(output, rows, [])
        return
    with friendly_errors():
        check_levels([level])
        sens = check_sensitivity(
            settings.models.sensitivity if sensitivity is None else sensitivity
        )
        ratio = check_ratio(max_anomaly_ratio)
        from tsad.cli_render import Done, render_detect
        from tsad.io import check_destination, detect_table, read_series_file, write_table
        from tsad.jobs import DetectOutcome, detect_job

        for dest in (output, plot):
            if dest is not None:
                check_destination(dest)
        data = read_series_file(file)
        _prefit(settings, model, data.series, freq, None)

        def job(s: SeriesData, progress: Callable[[int, int], None] | None = None) -> DetectOutcome:
            return detect_job(
                settings.models, model, s.ts, s.y, freq, level, mode.value, sens, ratio, progress
            )

        if len(data.series) == 1 and mode is Mode.online and engine is Engine.local:
            results = [(data.series[0], _with_progress(lambda tick: job(data.series[0], tick)))]
        else:
            results = run_batch(data.series, job, "detecting", engine=engine, scheduler=scheduler)
        scored = [(s.series_id, o.scored) for s, o in results]
        if output:
            write_table(detect_table(scored), output)
        plots: list[Path] = []
        if plot is not None:
            from tsad.plot import plot_detection, plot_path

            for sid, s in scored:
                n = int(s.is_anomaly.sum())
                title = f"{file.name}{f' · {sid}' if sid else ''} · {n} anomalies at {level:g}%"
                plots.append(plot_detection(plot_path(plot, sid), s, title, level))
        done = [Done(s, o, file.stem) for s, o in results]
        render_detect(_report_console(output), done, level, mode.value)
        _finish(output, sum(len(s) for _, s in scored), plots)


def _with_progress(run: Callable[[Callable[[int, int], None]], T]) -> T:
    """One long online replay: a progress bar over its refits (stderr)."""
    from rich.progress import Progress

    from tsad.engine.local import progress_columns

    with Progress(*progress_columns(), console=err, transient=True) as bar:
        task = bar.add_task("online replay (refits)", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run(tick)


def parse_levels(text: str) -> list[float]:
    """``"80,95"`` → [80.0, 95.0], validated to lie in (0, 100)."""
    from tsad.errors import InvalidInput
    from tsad.series import check_levels

    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput(f"--levels must be numbers separated by commas, got {text!r}") from None
    return check_levels(values)


@app.command()
def forecast(
    file: Path = typer.Argument(..., help="CSV/Parquet: timestamp,value or unique_id,ds,y."),
    h: int | None = typer.Option(
        None, "--h", help="Steps to forecast (required; --horizon is the same).", show_default=False
    ),
    horizon: int | None = typer.Option(None, "--horizon", hidden=True),
    levels: str = typer.Option("80,95", help="Interval levels in percent, comma-separated."),
    model: str = typer.Option("auto", help=f"{choices_text()}."),
    freq: str | None = typer.Option(None, help="Sampling step ('5min', 'h'); inferred if unset."),
    output: str | None = typer.Option(None, help="Write the forecast (CSV, .parquet, - = stdout)."),
    plot: Path | None = typer.Option(
        None, help="PNG of history and forecast bands; many series: OUT-<id>.png each."
    ),
    engine: Engine = typer.Option(Engine.local, help=ENGINE_HELP),
    scheduler: str | None = typer.Option(None, help=SCHEDULER_HELP),
) -> None:
    """Forecast H steps past the end of each series in FILE, with intervals."""
    from tsad.errors import InvalidInput

    if h is None and horizon is None:
        fail("missing option '--h': how many steps to forecast, e.g. --h 24", 2)
    h = h if h is not None else horizon
    assert h is not None
    settings = load_settings()
    with friendly_errors():
        if not 0 < h <= settings.models.max_horizon:
            raise InvalidInput(
                f"--h must be between 1 and {settings.models.max_horizon} "
                f"(TSAD_MAX_HORIZON), got {h}"
            )
        lv = parse_levels(levels)
        from tsad.cli_render import Done, render_forecast
        from tsad.io import check_destination, forecast_table, read_series_file, write_table
        from tsad.jobs import ForecastOutcome, forecast_job

        for dest in (output, plot):
            if dest is not None:
                check_destination(dest)
        data = read_series_file(file)
        _prefit(settings, model, data.series, freq, h)

        def job(s: SeriesData) -> ForecastOutcome:
            return forecast_job(settings.models, model, s.ts, s.y, freq, h, lv)

        results = run_batch(data.series, job, "forecasting", engine=engine, scheduler=scheduler)
        bands = [(s.series_id, o.band) for s, o in results]
        if output:
            write_table(forecast_table(bands, lv), output)
        plots: list[Path] = []
        if plot is not None:
            from tsad.plot import plot_forecast, plot_path

            for s, o in results:
                sid = s.series_id
                title = f"{file.name}{f' · {sid}' if sid else ''} · {h} steps ahead"
                plots.append(plot_forecast(plot_path(plot, sid), s.ts, s.y, o.band, title))
        done = [Done(s, o, file.stem) for s, o in results]
        render_forecast(_report_console(output), done, lv)
        _finish(output, sum(len(b) for _, b in bands), plots)


# --------------------------------------------------------------------------- bench, main


def _mount_bench() -> None:
    # tsad.bench.cli keeps its heavy imports inside its commands, so this stays cheap
    try:
        from tsad.bench.cli import bench_app
    except ModuleNotFoundError as exc:
        if exc.name != "tsad.bench.cli":
            raise
        return
    app.add_typer(bench_app, name="bench", help="Benchmarks: NAB score, M4 accuracy, load.")


_mount_bench()


def _mount_feedback() -> None:
    from tsad.feedback.cli import feedback_app

    app.add_typer(feedback_app, name="feedback", help="Label alerts on a running tsad.")


_mount_feedback()


def _print_version(value: bool) -> None:
    if value:
        print(f"tsad {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Self-hosted time-series forecasting and anomaly detection."""


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``tsad``) and ``python -m tsad``."""
    command = typer.main.get_command(app)
    command.main(args=list(argv) if argv is not None else sys.argv[1:], prog_name="tsad")
