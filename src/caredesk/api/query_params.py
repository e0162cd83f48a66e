"""Query parameters shared by the API's routes, with the constraints the server enforces published in the
OpenAPI schema (checked by the action with a stable 400 code, not by FastAPI's 422)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from caredesk.storage.pagination import CURSOR_PATTERN

__all__ = ["MOMENT_PATTERN", "Cursor"]

Cursor = Annotated[str | None, Query(
    max_length=100, description="`next_cursor` of the previous page (an invalid cursor is 400 `invalid_input`)",
    json_schema_extra={"pattern": CURSOR_PATTERN})]

# An ISO 8601 date, or date and time, with or without an offset (analytics/period.py reads one without an offset
# in the centre's time zone), years 1970-2999. A pattern cannot say which months have a 29th to 31st: the server
# answers 400 `invalid_input` for 30 February.
MOMENT_PATTERN = (r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
                  r"([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?)?$")
