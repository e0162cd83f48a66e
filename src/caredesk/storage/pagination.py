"""Cursor pagination over time-ordered string ids: newest first, stable under inserts."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from caredesk.errors import InvalidInput
from caredesk.ids import is_id

__all__ = ["Page", "paginate"]

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def _decode(cursor: str) -> str:
    try:
        value = base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("cursor is not valid", field="cursor") from None
    if not is_id(value):
        raise InvalidInput("cursor is not valid", field="cursor")
    return value


def paginate(session: Session, stmt: Select[Any], id_column: Any, cursor: str | None, limit: int) -> Page[Any]:
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be between 1 and 200", field="limit")
    if cursor:
        stmt = stmt.where(id_column < _decode(cursor))
    rows = list(session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = base64.urlsafe_b64encode(rows[-1].id.encode()).decode().rstrip("=") if more and rows else None
    return Page(rows, next_cursor)
