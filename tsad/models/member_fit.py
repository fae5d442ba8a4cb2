"""Training the members of a model made of several global networks (``ensemble``,
the ``patchtst`` seed bag): the horizon they are trained for, and a fit of each
member in a spawned process of its own so that two train side by side on two cores.

A member is addressed by its index in ``owner_cls(settings).members``: the spawned
process rebuilds the owner from its settings and trains that one member, so no
model object crosses the process boundary — only arrays, settings and the key the
member's fit returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from tsad.models.neural import NeuralForecaster
from tsad.models.neural_train import Progress
from tsad.series import Series
from tsad.settings import ModelSettings


class MemberOwner(Protocol):
    """A model whose global networks are listed in ``members``."""

    @property
    def members(self) -> Sequence[NeuralForecaster]: ...


def member_horizon(step_ms: int, h: int) -> int:
    """The horizon members are trained and looked up for: at least the stored-band
    horizon, so one model serves every request up to it (and the service's refits);
    longer requests get their own."""
    from tsad.detect.online import refit_horizon

    return max(h, refit_horizon(step_ms))


def fit_members(
    owner_cls: Callable[[ModelSettings], MemberOwner],
    settings: ModelSettings,
    members: Sequence[NeuralForecaster],
    histories: Sequence[Series],
    step_ms: int,
    h: int | None,
    steps: Sequence[int | None],
    progress: Progress | None,
    workers: int,
    keep_fresh_s: float | None = None,
) -> str:
    """A global fit of the members for the horizon ``member_horizon(step_ms, h)``:
    ``workers`` > 1 in spawned processes, else in turn here; the keys, comma-joined.

    ``keep_fresh_s`` keeps each member whose global model is a proper fit younger than
    that (its key is returned as is): a global fit cut short by its deadline resumes
    with the members it had not reached, instead of starting over."""
    hh = member_horizon(step_ms, h or 0)
    todo = [
        i
        for i, m in enumerate(members)
        if keep_fresh_s is None or m.global_fit_due(step_ms, hh, keep_fresh_s)
    ]
    keys = [m.store.global_key(m.spec(step_ms, hh), step_ms, m.tag) or "" for m in members]
    if workers > 1 and len(todo) > 1:
        fitted = fit_in_processes(
            owner_cls, settings, histories, step_ms, hh, steps, progress, workers, todo
        )
    else:
        chosen = [members[i] for i in todo]
        fitted = fit_serially(chosen, histories, step_ms, hh, [steps[i] for i in todo], progress)
    for i, key in zip(todo, fitted, strict=True):
        keys[i] = key
    return ",".join(keys)


def members_due(
    members: Sequence[NeuralForecaster], step_ms: int, h: int | None, every_s: float
) -> bool:
    """Whether any member's global model is missing, a bootstrap, or older than ``every_s``."""
    hh = member_horizon(step_ms, h or 0)
    return any(m.global_fit_due(step_ms, hh, every_s) for m in members)


def fit_serially(
    members: Sequence[NeuralForecaster],
    histories: Sequence[Series],
    step_ms: int,
    h: int,
    steps: Sequence[int | None],
    progress: Progress | None,
) -> list[str]:
    """Train each member in turn in this process (``steps`` as for ``fit_in_processes``)."""
    totals = [s or m.spec(step_ms, h).max_steps for m, s in zip(members, steps, strict=True)]
    keys = []
    done = 0
    for member, max_steps, total in zip(members, steps, totals, strict=True):

        def step(i: int, _total: int, offset: int = done) -> None:
            if progress is not None:
                progress(offset + i, sum(totals))

        keys.append(member.fit_many(histories, step_ms, h, max_steps=max_steps, progress=step))
        done += total
    return keys


def fit_in_processes(
    owner_cls: Callable[[ModelSettings], MemberOwner],
    settings: ModelSettings,
    histories: Sequence[Series],
    step_ms: int,
    h: int,
    steps: Sequence[int | None],
    progress: Progress | None,
    workers: int,
    indices: Sequence[int] | None = None,
) -> list[str]:
    """Train member ``i`` of ``owner_cls(settings)`` for ``steps[i]`` steps (None: the
    member's own) for each ``i`` in ``indices`` (default: all), ``workers`` at a time,
    each in a spawned process with one torch thread; returns their keys in that order.
    ``progress`` sees the summed steps."""
    import multiprocessing
    import os
    import queue
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.managers import SyncManager

    from tsad.lifeline import exit_with_parent

    members = owner_cls(settings).members
    chosen = list(range(len(members))) if indices is None else list(indices)
    totals = [steps[i] or members[i].spec(step_ms, h).max_steps for i in chosen]
    arrays = [(s.ts, s.y) for s in histories]
    ctx = multiprocessing.get_context("spawn")
    # the progress queue's manager and the member fits end with this process
    manager = SyncManager(ctx=ctx)
    manager.start(exit_with_parent, (os.getpid(),))
    with (
        manager,
        ProcessPoolExecutor(
            max(1, min(workers, len(chosen))),
            mp_context=ctx,
            initializer=exit_with_parent,
            initargs=(os.getpid(),),
        ) as pool,
    ):
        reports = manager.Queue()
        futures = [
            pool.submit(_fit_member, owner_cls, settings, i, arrays, step_ms, h, steps[i], reports)
            for i in chosen
        ]
        seen = dict.fromkeys(chosen, 0)
        finished = False
        while True:
            # one last sweep after every fit ended: reports may still be queued
            finished = finished or all(f.done() for f in futures)
            try:
                index, step = reports.get(timeout=0.2)
            except queue.Empty:
                if finished:
                    break
                continue
            seen[index] = step
            if progress is not None:
                progress(sum(seen.values()), sum(totals))
        return [f.result() for f in futures]


def _fit_member(
    owner_cls: Callable[[ModelSettings], MemberOwner],
    settings: ModelSettings,
    index: int,
    arrays: list[tuple[Any, Any]],
    step_ms: int,
    h: int,
    max_steps: int | None,
    reports: Any,
) -> str:
    """Runs in a spawned process: train member ``index``, reporting every 10th step."""
    member = owner_cls(settings).members[index]

    def report(step: int, total: int) -> None:
        if step % 10 == 0 or step == total:
            reports.put((index, step))

    series = [Series(ts, y) for ts, y in arrays]
    return member.fit_many(series, step_ms, h, max_steps=max_steps, progress=report)
