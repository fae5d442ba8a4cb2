"""OpenAPI documentation of request bodies that routes decode themselves.

Routes read their JSON body through ``tsad.api.decode`` (so each failure gets
the status that fits), which hides the body type from Litestar's schema
generator; ``json_body`` puts msgspec's JSON Schema of the type back into the
operation, inlined so the document needs no extra components.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.spec import Operation


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def json_body(type_: type[Any]) -> type[Operation]:
    """An ``operation_class`` documenting ``type_`` as the JSON request body."""
    raw = msgspec.json.schema(type_)
    schema = _inline(raw, raw.get("$defs", {}))

    class DocumentedOperation(Operation):
        def to_schema(self) -> dict[str, Any]:
            out = super().to_schema()
            out["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema}},
            }
            return out

    DocumentedOperation.__name__ = f"{type_.__name__}Operation"
    return DocumentedOperation
