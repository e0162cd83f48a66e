"""The unit of work: one transaction, and side effects released only after it commits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

__all__ = ["UnitOfWork"]

log = logging.getLogger(__name__)


class UnitOfWork:
    """`with UnitOfWork(factory) as uow: ...; uow.commit()`. Leaving without commit rolls back and drops
    every `on_commit` callback, so a failed action sends no notice and enqueues no task."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory
        self._after_commit: list[Callable[[], None]] = []
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        self._after_commit = []
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def on_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    def commit(self) -> None:
        self.session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # the data is committed; a lost side effect is logged, not raised
                log.exception("after-commit callback %r failed", getattr(callback, "__name__", callback))
