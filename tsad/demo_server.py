"""``tsad demo``'s process: uvicorn serving the app in the main thread, and a
thread that waits for it to answer, feeds the sample series and prints where to
look. Ctrl-C or SIGTERM stops both."""

from __future__ import annotations

import threading
import time
import webbrowser

import httpx

from tsad.samples import SAMPLE_ID
from tsad.settings import Settings


def _feed(base: str, settings: Settings, server: object, open_browser: bool) -> None:
    from tsad.demo import feed_sample

    while not getattr(server, "started", False):
        if getattr(server, "should_exit", False):
            return
        time.sleep(0.1)
    key = settings.api.api_keys[0] if settings.api.api_keys else None
    try:
        feed_sample(base, api_key=key, say=lambda line: print(line, flush=True))
    except httpx.HTTPError as exc:
        print(f"feeding the sample failed: {exc}", flush=True)
        return
    url = f"{base}/console/series?id={SAMPLE_ID}"
    print(f"console: {base}/ · the sample: {url} · Ctrl-C stops", flush=True)
    if open_browser:
        webbrowser.open(url)


def run_demo(settings: Settings, host: str, port: int, *, open_browser: bool = False) -> None:
    import uvicorn

    from tsad.api.app import create_app
    from tsad.cli import base_url

    base = base_url(host, port)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host=host, port=port, access_log=False)
    )
    print(f"tsad demo on {base}: starting the server, then feeding the sample", flush=True)
    feeder = threading.Thread(
        target=_feed, args=(base, settings, server, open_browser), daemon=True
    )
    feeder.start()
    server.run()
