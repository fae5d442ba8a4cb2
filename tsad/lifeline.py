"""Child processes that end with their parent, however the parent ends.

Model-pool workers (``tsad.runner``) run this as their initializer: a daemon thread
watches the parent's pid and exits the worker as soon as the parent is gone — a
``kill -9`` included, which runs no clean-up in the parent. When the workers are
gone, multiprocessing's resource tracker sees its pipe close and exits too.

A thread rather than Linux's ``PR_SET_PDEATHSIG``: that signal fires when the
*thread* that started the child ends, not the process, so a pool started from a
short-lived thread would lose its workers; and it is Linux-only.
"""

from __future__ import annotations

import os
import threading
import time

POLL_S = 0.25


def _watch(parent_pid: int, poll_s: float) -> None:
    while True:
        if os.getppid() != parent_pid:  # re-parented: the parent died
            os._exit(1)
        time.sleep(poll_s)


def exit_with_parent(parent_pid: int, poll_s: float = POLL_S) -> None:
    """Initializer for a child process: exit as soon as ``parent_pid`` is no longer
    its parent (checked every ``poll_s`` seconds)."""
    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(
        target=_watch, args=(parent_pid, poll_s), name="tsad-lifeline", daemon=True
    ).start()
