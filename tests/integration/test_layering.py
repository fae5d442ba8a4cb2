"""The layering contracts (``lint-imports``, run by .ci/run) hold on the tree and
fail on each kind of import they forbid."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [exe, "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(
        REPO / "tsad", tmp_path / "tsad", ignore=shutil.ignore_patterns("__pycache__", "static")
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_contract() -> None:
    """lint-imports passes on the project as committed."""
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("tsad/detect/score.py", "import litestar", "Domain code never imports the web layer"),
        ("tsad/service.py", "import tsad.api.app", "Domain code never imports the web layer"),
        ("tsad/models/stats.py", "import tsad.buffer.memory", "Models and detection never"),
        ("tsad/jobs.py", "import tsad.bench.nab", "Nothing imports the benchmarks"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tree: Path, module: str, line: str, contract: str
) -> None:
    """One forbidden import in a module makes lint-imports fail, naming the contract."""
    path = tree / module
    path.write_text(path.read_text() + f"\n{line}  # a layering violation\n")
    result = _lint(tree)
    assert result.returncode != 0
    broken = [ln for ln in result.stdout.splitlines() if " BROKEN" in ln]
    assert len(broken) == 1 and broken[0].startswith(contract), result.stdout


def test_every_top_level_module_is_placed_in_the_layering() -> None:
    """A new module or package under tsad/ must be named in the web-layer contract
    (or be one of the web edge's own modules), so no room escapes the lint."""
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    web = next(c for c in config["contracts"] if c["name"].startswith("Domain code never"))
    placed = {m.removeprefix("tsad.") for m in web["source_modules"]}
    edge = {"api", "cli", "demo_server"}  # the web layer and the processes that start it
    rooms = {
        p.stem if p.suffix == ".py" else p.name
        for p in (REPO / "tsad").iterdir()
        if (p.suffix == ".py" or (p / "__init__.py").exists()) and not p.name.startswith("_")
    }
    rooms -= {"samples"}  # data files only
    assert rooms - placed - edge == set(), "add the new module to [tool.importlinter]"
    assert placed & edge == set()
