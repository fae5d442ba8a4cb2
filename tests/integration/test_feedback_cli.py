"""``tsad feedback`` against a live ``tsad serve``: add, list, delete, reset, ranker,
and a clear error (exit 2) for a bad label."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from tests.live_server import live_tsad
from tsad.cli import app

T0 = 1_704_067_200


def test_feedback_cli_round_trip(tmp_path: Path) -> None:
    """Each sub-command reaches the server's routes; a bad label is refused with exit 2."""
    runner = CliRunner()
    with live_tsad(tmp_path, TSAD_DATA_DIR=str(tmp_path / "data")) as (base, _):
        points = [[T0 + 600 * i, 10.0 + i % 3] for i in range(20)]
        httpx.post(f"{base}/v1/series/shop:orders/points", json={"points": points}, timeout=30)

        def run(*args: str) -> tuple[int, str]:
            r = runner.invoke(app, ["feedback", *args, "--url", base])
            return r.exit_code, r.output

        code, out = run(
            "add", "shop:orders", "--label", "missed", "--at", str(T0 + 600),
            "--end", "2024-01-01T01:00:00Z", "--note", "slow checkout", "--author", "ana",
        )  # fmt: skip
        assert code == 0, out
        record = json.loads(out)
        assert record["label"] == "missed" and record["end"] == "2024-01-01T01:00:00Z"
        code, out = run("list", "shop:orders")
        assert code == 0 and record["id"] in out and "slow checkout" in out
        code, out = run("reset", "shop:orders")
        assert code == 0 and "offset +0.000" in out
        code, out = run("delete", "shop:orders", record["id"])
        assert code == 0 and (run("list", "shop:orders")[1].strip() == "")
        code, out = run("ranker", "--train")
        assert code == 0 and "ranker off" in out and "enough labels" in out
        code, out = run("add", "shop:orders", "--label", "bogus", "--at", str(T0))
        assert code == 2 and "422" in out
