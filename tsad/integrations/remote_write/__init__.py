"""Prometheus remote write 1.0: decode (``decode``), select (``select``), store (``store``).

``POST /api/v1/write`` (``tsad.api.routes.remote_write``) is the thin HTTP edge over
these; they import no web framework.
"""
