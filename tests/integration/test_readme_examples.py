"""The README's examples, as a new user would type them: blocks marked
``<!-- readme-test: run -->`` run in bash against a live ``tsad serve`` (on a free
port instead of 8000); every other ``tsad ...`` line must name a real command and
only options that command has."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.integration.cli_helpers import clean_env
from tests.live_server import live_tsad
from tsad.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"
MARK = "<!-- readme-test: run -->"
FENCE = re.compile(r"^```bash\n(.*?)^```", re.M | re.S)


def bash_blocks() -> list[tuple[bool, str]]:
    """Every fenced bash block, with whether it is marked to be run."""
    text = README.read_text()
    return [(text[: m.start()].rstrip().endswith(MARK), m.group(1)) for m in FENCE.finditer(text)]


def tsad_lines() -> list[str]:
    """Each ``tsad ...`` command in the README's unmarked blocks, comments dropped."""
    lines = []
    for run, block in bash_blocks():
        if run:
            continue
        for line in block.splitlines():
            line = line.split(" # ")[0].strip()
            for part in line.split("&&"):
                part = part.strip()
                if part.startswith("tsad "):
                    lines.append(part)
    return lines


def test_readme_has_runnable_examples() -> None:
    """The README marks its "Try it" block to be run, and lists more tsad commands."""
    assert any(run for run, _ in bash_blocks())
    assert len(tsad_lines()) >= 5


def test_marked_readme_blocks_run_against_a_live_server(tmp_path: Path) -> None:
    """Every marked README block runs as written (curl and tsad) and exits 0."""
    blocks = [block for run, block in bash_blocks() if run]
    with live_tsad(tmp_path) as (base, _):
        port = base.rsplit(":", 1)[1]
        for block in blocks:
            script = block.replace("localhost:8000", f"localhost:{port}")
            bin_dir = str(Path(sys.executable).parent)
            env = clean_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
            proc = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                env=env,
                timeout=240,
                check=False,
            )
            assert proc.returncode == 0, (
                f"{block}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
            )
            if "/v1/forecast" in block:
                assert '"model_used"' in proc.stdout  # the forecast answered
    assert (tmp_path / "out.png").stat().st_size > 10_000
    assert (tmp_path / "forecast.csv").read_text().startswith("timestamp,mean,lo-80,hi-80")


@pytest.mark.parametrize("line", tsad_lines())
def test_other_readme_tsad_commands_use_real_options(line: str) -> None:
    """A README ``tsad`` line names a real command and only options its --help lists."""
    words = line.split()
    # "tsad bench nab ..." is a sub-command group; "tsad detect FILE" is not
    command = words[1:3] if words[1] in ("bench", "feedback") else words[1:2]
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for option in re.findall(r"(?<!\S)(--[a-z][a-z0-9-]*)", line):
        assert option in result.output, f"{line}: {option} is not an option of tsad {command}"
