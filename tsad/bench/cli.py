"""``tsad bench``: the typer sub-app (``nab``, ``m4``, ``load``), mounted by ``tsad/cli.py``."""

from __future__ import annotations

from pathlib import Path

import typer

bench_app = typer.Typer(help="Benchmarks: NAB score, M4 Hourly accuracy, HTTP load, SKAB.")


@bench_app.command("nab")
def nab(
    data: Path = typer.Option(..., "--data", help="NAB-layout directory (data/ + labels/)"),
    model: str = typer.Option("auto", "--model", help="forecaster behind the online detector"),
    out: Path = typer.Option(Path("bench-out/nab"), "--out", help="results directory"),
    level: float = typer.Option(99.0, "--level", help="band level the detector scores against"),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="one PNG per file"),
) -> None:
    """Run the online detector over every file, score it NAB's way, report."""
    from tsad.bench.detector import OnlineDetector
    from tsad.bench.nab_run import run_nab
    from tsad.models.registry import ModelRegistry

    registry = ModelRegistry()
    detector = OnlineDetector(registry.get(model), f"tsad-{registry.resolve(model)}", level)
    run_nab(data, detector, out, plots=plots)


@bench_app.command("m4")
def m4(
    train: Path = typer.Option(..., "--train", help="M4 Hourly-train.csv"),
    test: Path | None = typer.Option(None, "--test", help="M4 Hourly-test.csv (else hold out 48)"),
    model: str = typer.Option("auto", "--model"),
    out: Path = typer.Option(Path("bench-out/m4"), "--out"),
    limit: int | None = typer.Option(None, "--limit", help="first N series only"),
    steps: int | None = typer.Option(
        None,
        "--steps",
        help="training steps of a global neural model (nhits, patchtst; each ensemble member)",
    ),
    jobs: int = typer.Option(
        1, "--jobs", min=1, help="ensemble members trained at once, one process each"
    ),
) -> None:
    """Forecast h=48 per series; sMAPE, MASE, OWA vs Naive2, 95% coverage and MSIS."""
    from tsad.bench.m4 import run_m4

    run_m4(train, test, model, out, limit=limit, max_steps=steps, jobs=jobs)


@bench_app.command("load")
def load(
    url: str | None = typer.Option(None, "--url", help="a running tsad (else one is started)"),
    requests: int = typer.Option(2000, "--requests", help="single-point posts per phase"),
    batches: int = typer.Option(100, "--batches", help="1,000-point posts per phase"),
    rate: float = typer.Option(200.0, "--rate", help="requests/s for the fixed-rate phases"),
    max_seconds: float = typer.Option(120.0, "--max-seconds", help="stop any phase after this"),
    out: Path = typer.Option(Path("bench-out/load"), "--out"),
) -> None:
    """Points/s and p50/p95/p99 latency: single points and 1,000-point batches."""
    from tsad.bench.load import run_load

    run_load(url, requests, batches, rate, max_seconds, out)


@bench_app.command("feedback")
def feedback(
    data: Path = typer.Option(..., "--data", help="NAB-layout directory (data/ + labels/)"),
    model: str = typer.Option("auto", "--model", help="forecaster behind the online replay"),
    out: Path = typer.Option(Path("bench-out/feedback"), "--out", help="results directory"),
    cache: Path | None = typer.Option(
        None, "--cache", help="replayed bands per file (default OUT/bands; reused when present)"
    ),
) -> None:
    """A simulated analyst labels tsad's alerts on NAB: flags with vs without feedback,
    constants by leave-one-folder-out CV, and the learned ranker's lift."""
    from tsad.bench.feedback_run import run_feedback_bench

    run_feedback_bench(data, out, model=model, cache=cache)


@bench_app.command("skab")
def skab(
    data: Path = typer.Option(
        ..., "--data", help="SKAB data directory (folders of ;-separated csv)"
    ),
    out: Path = typer.Option(Path("bench-out/skab"), "--out", help="results directory"),
    cv: bool = typer.Option(False, "--cv/--no-cv", help="leave-one-folder-out CV of the constants"),
    detectors: str = typer.Option("pca,iforest", "--detectors", help="comma-separated"),
    time_rows: int = typer.Option(
        3000, "--time-rows", min=1, help="rows replayed to time the hot path"
    ),
) -> None:
    """Multivariate detectors on SKAB: F1/FAR/MAR, change-point NAB, cost per row."""
    from tsad.bench.skab import run_skab

    run_skab(
        data,
        out,
        cv=cv,
        detectors=[d.strip() for d in detectors.split(",") if d.strip()],
        timed_rows=time_rows,
    )
