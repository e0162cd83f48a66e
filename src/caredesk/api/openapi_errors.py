"""The OpenAPI schema tells the truth about errors: every API operation may answer with the JSON error body
that api/errors.py sends ({code, message, details?, errors?}), under the statuses the error tree uses.
FastAPI alone documents only 422 with its own `{"detail": ...}` shape, which CareDesk never sends."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

__all__ = ["ERROR_SCHEMA", "document_errors"]

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error", "type": "object", "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "description": "stable machine-readable code, e.g. invalid_input"},
        "message": {"type": "string"},
        "details": {"type": "object", "additionalProperties": True},
        "errors": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
    },
}
_STATUSES = {"400": "Invalid input (bad JSON, or values the schema cannot express)",
             "401": "Not authenticated", "403": "Forbidden (role, or CSRF token for session callers)",
             "404": "Not found, or not visible to the caller", "409": "Conflict with the current state",
             "413": "Body too large", "422": "Request does not match the schema",
             "429": "Too many requests", "503": "A dependency is not ready"}
_REF = {"$ref": "#/components/schemas/Error"}


def document_errors(app: FastAPI, prefix: str = "/api/") -> None:
    """Wrap `app.openapi` so that the generated schema documents the error answers of every API operation."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith(prefix):
                continue
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, description in _STATUSES.items():
                    responses[status] = {"description": description,
                                         "content": {"application/json": {"schema": _REF}}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
