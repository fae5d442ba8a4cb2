"""``tsad feedback``: label alerts on a running tsad over its HTTP API (the same
routes the console's buttons and the alert links use)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import typer

feedback_app = typer.Typer(help="Operator feedback on alerts, on a running tsad server.")

URL = typer.Option(
    "http://127.0.0.1:8000", "--url", envvar="TSAD_URL", help="the tsad server to talk to"
)
KEY = typer.Option(None, "--api-key", envvar="TSAD_API_KEY", help="an API key, if it needs one")


def _call(method: str, url: str, key: str | None, path: str, **kw: Any) -> Any:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    try:
        resp = httpx.request(method, url.rstrip("/") + path, headers=headers, timeout=30, **kw)
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach {url}: {exc}", err=True)
        raise typer.Exit(3) from None
    if resp.status_code >= 400:
        try:
            detail = resp.json().get("detail", resp.text)
        except ValueError:
            detail = resp.text
        typer.echo(f"error: {resp.status_code}: {detail}", err=True)
        raise typer.Exit(2 if resp.status_code < 500 else 3)
    return None if resp.status_code == 204 else resp.json()


def _stamp(text: str) -> str | float:
    """Epoch seconds stay numbers; anything else is sent as an RFC 3339 string."""
    try:
        return float(text)
    except ValueError:
        return text


def _path(series_id: str) -> str:
    return f"/v1/series/{quote(series_id, safe=':=,')}/feedback"


@feedback_app.command("add")
def add(
    series_id: str = typer.Argument(..., help="the series"),
    label: str = typer.Option(
        ..., "--label", help="false_positive, true_positive, missed or expected"
    ),
    at: str = typer.Option(..., "--at", help="the point, or the range's start (RFC 3339/epoch s)"),
    end: str | None = typer.Option(None, "--end", help="the range's end (inclusive)"),
    note: str | None = typer.Option(None, "--note"),
    author: str | None = typer.Option(None, "--author", envvar="USER"),
    url: str = URL,
    key: str | None = KEY,
) -> None:
    """Label a point or a range; prints the stored record."""
    body: dict[str, Any] = {"label": label, "note": note, "author": author}
    if end is None:
        body["timestamp"] = _stamp(at)
    else:
        body.update(start=_stamp(at), end=_stamp(end))
    typer.echo(json.dumps(_call("POST", url, key, _path(series_id), json=body), indent=2))


@feedback_app.command("list")
def list_(
    series_id: str = typer.Argument(...),
    label: str | None = typer.Option(None, "--label"),
    url: str = URL,
    key: str | None = KEY,
) -> None:
    """A series' feedback, one record a line."""
    params = {"label": label} if label else {}
    out = _call("GET", url, key, _path(series_id), params=params)
    for r in out["feedback"]:
        typer.echo(
            f"{r['id']}  {r['label']:<15} {r['start']} .. {r['end']}  "
            f"{r.get('author') or '-'}  {r.get('note') or ''}"
        )


@feedback_app.command("delete")
def delete(
    series_id: str = typer.Argument(...),
    feedback_id: str = typer.Argument(...),
    url: str = URL,
    key: str | None = KEY,
) -> None:
    """Forget one label (the series' adaptation replays without it)."""
    _call("DELETE", url, key, f"{_path(series_id)}/{feedback_id}")
    typer.echo(f"deleted {feedback_id}")


@feedback_app.command("reset")
def reset(series_id: str = typer.Argument(...), url: str = URL, key: str | None = KEY) -> None:
    """Undo what feedback did to the series' threshold (labels are kept)."""
    out = _call("POST", url, key, f"{_path(series_id)}/reset")
    typer.echo(f"threshold {out['threshold']:.4f} (offset {out['threshold_offset']:+.3f})")


@feedback_app.command("ranker")
def ranker(
    train: bool = typer.Option(False, "--train", help="retrain now"),
    url: str = URL,
    key: str | None = KEY,
) -> None:
    """The learned ranker's state (and retrain it with --train)."""
    path = "/v1/feedback/ranker" + ("/train" if train else "")
    out = _call("POST" if train else "GET", url, key, path)
    state = "on" if out["enabled"] else "off"
    typer.echo(f"ranker {state}: {out['reason']} (suppress below {out['suppress_below']})")
