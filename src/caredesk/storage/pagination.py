"""Cursor pagination over time-ordered string ids: newest first, stable under inserts."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from caredesk.errors import InvalidInput
from caredesk.ids import is_id

__all__ = ["CURSOR_PATTERN", "Page", "paginate"]

T = TypeVar("T")
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_HEX_KINDS = ("0123456789", "abcdef")


def _chars(values: set[int]) -> str:
    return "[" + "".join(re.escape(_B64[v]) for v in sorted(values)) + "]"


def _cursor_pattern() -> str:
    """The regular expression of exactly the cursors paginate() makes: unpadded base64url of a 32-hex id.
    Three id characters b1 b2 b3 make four cursor characters; the first two depend on b1 and on whether
    b2 is a digit or a letter (its high bits), the third on b2's low bits and b3's kind, the fourth on b3.
    The id's last two characters make three, the third with b2's low bits only. The OpenAPI schema publishes
    it, so that a client (or a fuzzer) knows a cursor is not any string."""
    def lead(kind2: str) -> str:  # characters 1-2, for each b1, given b2's kind
        pairs: dict[int, set[int]] = {}
        for b1 in map(ord, "".join(_HEX_KINDS)):
            for b2 in map(ord, kind2):
                pairs.setdefault(b1 >> 2, set()).add((b1 & 3) << 4 | b2 >> 4)
        return "(?:" + "|".join(_B64[c1] + _chars(c2) for c1, c2 in sorted(pairs.items())) + ")"

    def group(kind2: str) -> str:
        tails = [_chars({(ord(b2) & 15) << 2 | ord(b3) >> 6 for b2 in kind2 for b3 in kind3})
                 + _chars({ord(b3) & 63 for b3 in kind3}) for kind3 in _HEX_KINDS]
        return lead(kind2) + "(?:" + "|".join(tails) + ")"

    three = "(?:" + "|".join(group(k) for k in _HEX_KINDS) + ")"
    last = "(?:" + "|".join(lead(k) + _chars({(ord(b2) & 15) << 2 for b2 in k}) for k in _HEX_KINDS) + ")"
    return f"^(?:{three}{{10}}{last})?$"  # empty: the first page, as no cursor


CURSOR_PATTERN = _cursor_pattern()  # published in the OpenAPI schema of every paginated list
_CURSOR = re.compile(CURSOR_PATTERN)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def _decode(cursor: str) -> str:
    if not _CURSOR.match(cursor):
        raise InvalidInput("cursor is not valid", field="cursor")
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
