"""One row by its id, or "not found": the lookup every action's `get_*` makes, locked when it will change it."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.errors import NotFound

__all__ = ["row_by_id"]

T = TypeVar("T")


def row_by_id(session: Session, model: type[T], row_id: str, *, what: str, lock: bool = False) -> T:
    """The row, read `FOR UPDATE` when `lock` (the caller is about to change it); NotFound("<what> not found")
    otherwise."""
    stmt = select(model).where(model.id == row_id)  # type: ignore[attr-defined]  # every table has an id
    found = session.scalar(stmt.with_for_update() if lock else stmt)
    if found is None:
        raise NotFound(f"{what} not found", id=row_id)
    return found
