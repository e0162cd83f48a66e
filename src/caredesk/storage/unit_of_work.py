"""The unit of work: one transaction, whose recorded events are written to the outbox in that transaction and
dispatched to their subscribers once it commits."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from caredesk.clock import Clock, SystemClock
from caredesk.events import DomainEvent, EventRecorder, Subscribers
from caredesk.storage.db import WRITE_OPTION
from caredesk.storage.orm import OutboxEvent
from caredesk.storage.outbox import TASK_LEASE, Delivery, dispatch, mark, record_event

__all__ = ["DeferredMarks", "Marks", "UnitOfWork", "events_of"]

log = logging.getLogger(__name__)
_UOW = "caredesk.unit_of_work"


class _OutboxOnly:
    """A session outside a unit of work: its events wait in the outbox for the relay."""

    def __init__(self, session: Session, now: datetime) -> None:
        self._session = session
        self._now = now

    def record(self, event: DomainEvent, *, available_at: datetime | None = None) -> None:
        record_event(self._session, event, now=self._now, available_at=available_at)


def events_of(session: Session, *, now: datetime) -> EventRecorder:
    """Where an action deep inside another's transaction (routing, which only has the session) records its
    events: the unit of work that owns the session, so that they are dispatched right after its commit
    (`now`, the action's clock, stamps them when no unit of work owns the session)."""
    owner = session.info.get(_UOW)
    return owner if isinstance(owner, UnitOfWork) else _OutboxOnly(session, now)


@dataclass(frozen=True)
class Marks:
    """One action's dispatch outcomes, to be written to its outbox rows (`outbox.mark`)."""

    results: list[Delivery]
    at: datetime
    task_lease: timedelta


class DeferredMarks:
    """The process's dispatched events whose marks wait for the next action's transaction, and how many
    actions wait for the write lock (SQLite: one writer at a time, so a waiting action is the next writer)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Marks] = []
        self._waiting = 0

    @contextmanager
    def waiting(self) -> Iterator[None]:
        with self._lock:
            self._waiting += 1
        try:
            yield
        finally:
            with self._lock:
                self._waiting -= 1

    def others_waiting(self) -> bool:
        with self._lock:
            return self._waiting > 0

    def take(self) -> list[Marks]:
        with self._lock:
            pending, self._pending = self._pending, []
        return pending

    def put_back(self, batches: list[Marks]) -> None:
        with self._lock:
            self._pending[:0] = batches


class UnitOfWork:
    """`with UnitOfWork(factory) as uow: ...; uow.record(event); uow.commit()`. Leaving without commit rolls
    back the action and its recorded events together, so a failed action sends no notice and runs no task.
    After the commit the events due now are dispatched to `subscribers` at once and marked done; a failed
    subscriber (or a process that dies first) leaves its row for the relay. Without subscribers every event
    waits for the relay.

    `write_lock` (given for SQLite, which has one writer at a time) queues this process's actions in a lock
    instead of SQLite's busy-wait, which sleeps up to 100 ms between tries and starves writers under load.

    `marks` (SQLite, with the write lock): when another action of the process already waits for the lock, the
    dispatched events' marks are left to its transaction instead of a second transaction of their own (under
    load one transaction per action, not two). The last holder with nobody waiting writes what is left, also
    when its own action failed; a process that dies first leaves the rows to the relay, as before."""

    def __init__(self, session_factory: sessionmaker[Session], *, write_lock: threading.RLock | None = None,
                 clock: Clock | None = None, subscribers: Subscribers | None = None,
                 task_lease: timedelta = TASK_LEASE, marks: DeferredMarks | None = None) -> None:
        self._factory = session_factory
        self._marks = marks if write_lock is not None else None
        self._task_lease = task_lease
        self._write_lock = write_lock
        self._clock = clock or SystemClock()
        self._subscribers = subscribers
        self._recorded: list[tuple[OutboxEvent, DomainEvent]] = []
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        if self._write_lock is not None:
            if self._marks is not None:
                with self._marks.waiting():
                    self._write_lock.acquire()
            else:
                self._write_lock.acquire()
        self.session = self._factory()
        self.session.info[_UOW] = self
        if self._write_lock is not None:  # SQLite: take the database's write lock with the transaction
            try:
                self._take_write_lock()
            except BaseException:
                self.session.close()
                self._write_lock.release()
                raise
        self._recorded = []
        return self

    def _take_write_lock(self) -> None:
        self.session.connection(execution_options={WRITE_OPTION: True})

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.session.rollback()
            if self._marks is not None and not self._marks.others_waiting():
                self._write_marks(self._marks.take())  # the last holder leaves no mark behind
        finally:
            self._recorded = []
            self.session.info.pop(_UOW, None)
            self.session.close()
            if self._write_lock is not None:
                self._write_lock.release()

    def record(self, event: DomainEvent, *, available_at: datetime | None = None) -> None:
        """Write the event to the outbox in this transaction; `available_at` in the future delays it (the
        relay dispatches it then)."""
        now = self._clock.now()
        immediate = self._subscribers is not None and (available_at is None or available_at <= now)
        row = record_event(self.session, event, now=now, available_at=available_at, claim=immediate)
        if immediate:
            self._recorded.append((row, event))

    def commit(self) -> None:
        earlier = self._marks.take() if self._marks is not None else []
        for batch in earlier:  # other actions' dispatched events, marked in this transaction
            mark(self.session, batch.results, now=batch.at, task_lease=batch.task_lease)
        try:
            self.session.commit()
        except BaseException:
            if self._marks is not None:
                self._marks.put_back(earlier)
            raise
        recorded, self._recorded = self._recorded, []
        if not recorded or self._subscribers is None:
            return
        results = dispatch(self._subscribers, [(row.id, event) for row, event in recorded])
        batch = Marks(results, self._clock.now(), self._task_lease)
        if self._marks is not None and self._marks.others_waiting():
            self._marks.put_back([batch])  # the next action, already waiting for the lock, writes them
            return
        self._write_marks([batch, *(self._marks.take() if self._marks is not None else [])])

    def _write_marks(self, batches: list[Marks]) -> None:
        """A second, short transaction; the action's data is committed whatever happens here."""
        if not batches:
            return
        try:
            if self._write_lock is not None:
                self._take_write_lock()
            for batch in batches:
                mark(self.session, batch.results, now=batch.at, task_lease=batch.task_lease)
            self.session.commit()
        except Exception:  # the rows keep their lease, and the relay takes them once it runs out
            self.session.rollback()
            log.exception("outbox: dispatched events could not be marked")
