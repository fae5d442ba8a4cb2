"""The app of one ``tsad serve --workers N`` process.

uvicorn's supervisor starts each worker with a fresh interpreter and calls
``worker_app`` there: the worker reads the same ``TSAD_*`` environment, builds its own
``TsadService`` on the shared Redis store (its own model pool, its own share of the
shared refit queue), and exits as soon as the supervisor is gone, however it ended
(``kill -9`` included), so no worker outlives the command that started it.
"""

from __future__ import annotations

import os

from litestar import Litestar

from tsad.api.app import create_app
from tsad.lifeline import exit_with_parent
from tsad.settings import Settings

#: the supervisor's pid, set by ``tsad serve`` before it starts the workers
SUPERVISOR_ENV = "TSAD_SERVE_SUPERVISOR_PID"


def worker_app() -> Litestar:
    """uvicorn factory: one worker's app, tied to the supervisor's life."""
    supervisor = os.environ.get(SUPERVISOR_ENV)
    if supervisor is not None and supervisor.isdigit():
        exit_with_parent(int(supervisor))
    return create_app(Settings.from_env())
