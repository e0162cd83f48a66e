"""No NUL character reaches a text column. PostgreSQL refuses them (a DataError deep in a request would be
a 500) and SQLite would keep them, so the same input would behave differently by database. Checked once,
on every statement's parameters, wherever the text came from (API, web form, CSV import, CLI); the caller
gets InvalidInput (400) and its transaction rolls back whole."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, event

from caredesk.errors import InvalidInput

__all__ = ["install_text_guard"]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray | memoryview):  # blobs: no text
        return any(_has_nul(v) for v in value)
    return False


def _refuse_nul(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any,
                _executemany: bool) -> None:
    if parameters and _has_nul(parameters):
        raise InvalidInput("text must not contain NUL (U+0000) characters")


def install_text_guard(engine: Engine) -> Engine:
    event.listen(engine, "before_cursor_execute", _refuse_nul)
    return engine
