"""Query parameters shared by the API's routes, with the constraints the server enforces published in the
OpenAPI schema (checked by the action with a stable 400 code, not by FastAPI's 422)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from caredesk.storage.pagination import CURSOR_PATTERN

__all__ = ["Cursor"]

Cursor = Annotated[str | None, Query(
    max_length=100, description="`next_cursor` of the previous page (an invalid cursor is 400 `invalid_input`)",
    json_schema_extra={"pattern": CURSOR_PATTERN})]
