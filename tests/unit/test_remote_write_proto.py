"""The committed remote_pb2 module is what grpc_tools.protoc makes of remote.proto."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROTO = "tsad/integrations/remote_write/remote.proto"


def test_generated_code_matches_the_committed_proto(tmp_path: Path) -> None:
    """Regenerating from remote.proto gives byte-identical remote_pb2.py and .pyi."""
    protoc = pytest.importorskip("grpc_tools.protoc")
    (tmp_path / PROTO).parent.mkdir(parents=True)
    shutil.copy(REPO / PROTO, tmp_path / PROTO)
    args = ["protoc", f"-I{tmp_path}", f"--python_out={tmp_path}", f"--pyi_out={tmp_path}"]
    assert protoc.main([*args, str(tmp_path / PROTO)]) == 0
    for suffix in ("_pb2.py", "_pb2.pyi"):
        rel = PROTO.replace(".proto", suffix)
        assert (tmp_path / rel).read_text() == (REPO / rel).read_text(), f"{rel} is stale"
