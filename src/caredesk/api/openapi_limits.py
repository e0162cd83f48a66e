"""The OpenAPI schema states the limits the server enforces beyond the pydantic models: the configured
message length, and that no text may hold a NUL character (storage/text_guard.py refuses it with a 400
on every database, since PostgreSQL cannot store it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI

from caredesk.api.schemas import NO_NUL

__all__ = ["document_limits"]

_REF_PREFIX = "#/components/schemas/"


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _input_schemas(schema: dict[str, Any], prefix: str) -> Iterator[dict[str, Any]]:
    """Every schema a client sends to an API operation: its parameters and its request body, following
    references into the components."""
    components = schema.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    todo: list[Any] = []
    for path, operations in schema.get("paths", {}).items():
        if path.startswith(prefix):
            for operation in operations.values():
                todo += [p.get("schema", {}) for p in operation.get("parameters", [])]
                todo.append(operation.get("requestBody", {}))
    while todo:
        for node in _walk(todo.pop()):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF_PREFIX) and ref not in seen:
                seen.add(ref)
                todo.append(components.get(ref.removeprefix(_REF_PREFIX), {}))
            yield node


def document_limits(app: FastAPI, *, max_message_chars: int, prefix: str = "/api/") -> None:
    """Wrap `app.openapi` (after document_errors) to publish these limits."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for node in _input_schemas(schema, prefix):
            if node.get("type") == "string" and not {"pattern", "enum", "const", "format"} & node.keys():
                node["pattern"] = NO_NUL
        text = schema.get("components", {}).get("schemas", {}).get("MessageIn", {}).get("properties", {}).get("text")
        if text is not None:
            text["maxLength"] = min(int(text.get("maxLength", max_message_chars)), max_message_chars)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
