"""The local batch engine: every series in this process, one after another, with a
progress bar when there are several (moved here from ``tsad.cli``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from rich.console import Console

from tsad.errors import TsadError

if TYPE_CHECKING:
    from rich.progress import ProgressColumn

    from tsad.io import SeriesData

T = TypeVar("T")

err = Console(stderr=True, highlight=False)


def progress_columns() -> tuple[str | ProgressColumn, ...]:
    """The progress bar both engines draw on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn

    return (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )


def run_local(
    series: Sequence[SeriesData], job: Callable[[SeriesData], T], what: str
) -> list[tuple[SeriesData, T]]:
    """Run ``job`` per series; with several, show a progress bar and skip series that fail.

    A single series' error propagates (exit 2/1). In a multi-series file a series the
    job rejects is reported on stderr and left out; if every one fails, the first error
    propagates.
    """
    if len(series) == 1:
        return [(series[0], job(series[0]))]
    from rich.progress import Progress

    done: list[tuple[SeriesData, T]] = []
    first_error: TsadError | None = None
    with Progress(*progress_columns(), console=err, transient=False) as progress:
        task = progress.add_task(what, total=len(series))
        for s in series:
            try:
                done.append((s, job(s)))
            except TsadError as exc:
                first_error = first_error or exc
                progress.console.print(f"tsad: skipped series {s.series_id}: {exc.detail}")
            progress.advance(task)
    if not done and first_error is not None:
        raise first_error
    return done
