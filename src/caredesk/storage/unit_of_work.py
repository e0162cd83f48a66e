"""The unit of work: one transaction, and side effects released only after it commits."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from caredesk.storage.db import WRITE_OPTION

__all__ = ["UnitOfWork"]

log = logging.getLogger(__name__)


class UnitOfWork:
    """`with UnitOfWork(factory) as uow: ...; uow.commit()`. Leaving without commit rolls back and drops
    every `on_commit` callback, so a failed action sends no notice and enqueues no task.

    `write_lock` (given for SQLite, which has one writer at a time) queues this process's actions in a lock
    instead of SQLite's busy-wait, which sleeps up to 100 ms between tries and starves writers under load."""

    def __init__(self, session_factory: sessionmaker[Session], *,
                 write_lock: threading.RLock | None = None) -> None:
        self._factory = session_factory
        self._write_lock = write_lock
        self._after_commit: list[Callable[[], None]] = []
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        if self._write_lock is not None:
            self._write_lock.acquire()
        self.session = self._factory()
        if self._write_lock is not None:  # SQLite: take the database's write lock with the transaction
            try:
                self.session.connection(execution_options={WRITE_OPTION: True})
            except BaseException:
                self.session.close()
                self._write_lock.release()
                raise
        self._after_commit = []
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()
            if self._write_lock is not None:
                self._write_lock.release()

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
