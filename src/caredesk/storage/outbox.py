"""The outbox's rules: record an event in the current transaction, dispatch claimed events to the subscribers and
mark the result, and the relay that picks up whatever was not marked done.

Claiming is a lease (`locked_until`): the writer claims its own events with the insert, a relay claims due rows
in a short transaction (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer at a time) and
dispatches after that transaction, so that no lock is held while subscribers send e-mail or run tasks. A
process that dies mid-dispatch leaves the lease to run out; the relay then delivers the event (at least once:
subscribers take ids and re-check state).

An event handed to a queued task (`Subscribers.subscribe_task`) is not done when the task is queued: its row
gets the longer `TASK_LEASE` instead, and the task marks it done when it has finished (`task_done`), or renews
the lease while the queue retries it (`task_retrying`). A task lost with a dying worker leaves the lease to run
out, and the relay queues it again."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from caredesk.events import DispatchFailed, DomainEvent, EventError, Subscribers, decode, encode
from caredesk.storage.orm import OutboxEvent

__all__ = ["LEASE", "MAX_ATTEMPTS", "TASK_LEASE", "Delivery", "OutboxStatus", "backoff", "dispatch", "mark",
           "outbox_status", "record_event", "relay_once", "task_done", "task_retrying"]

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # how long a dispatching process owns its rows before a relay may take them
# How long a queued task owns its event's row: longer than a task's run and the queue's own retries of it
# (5 x 30-60 s), short enough that a notice lost with a dead worker goes out within minutes.
TASK_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 12  # then the row stays, visible in `caredesk outbox status`, for a person to look at


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed ones: 10 s, 20 s, 40 s ... at most one hour."""
    return timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 3600))


def record_event(session: Session, event: DomainEvent, *, now: datetime, available_at: datetime | None = None,
                 claim: bool = False) -> OutboxEvent:
    """Add the event's row to the session's transaction. `claim`: the writer dispatches it right after its
    commit, so a relay leaves it alone for the lease."""
    name, payload = encode(event)
    due = max(available_at, now) if available_at is not None else now
    row = OutboxEvent(event_type=name, payload=payload, created_at=now, available_at=due, attempts=0,
                      locked_until=now + LEASE if claim and due <= now else None)
    session.add(row)
    return row


@dataclass(frozen=True)
class Delivery:
    """The outcome of one row's dispatch: `error` None when every subscriber succeeded."""

    row_id: int
    event_type: str
    error: str | None = None
    handed_off: bool = False  # a queued task marks the row done (`task_done`)


def dispatch(subscribers: Subscribers, items: Sequence[tuple[int, DomainEvent]]) -> list[Delivery]:
    """Run the subscribers of each event, in order. A failure is logged with the row id and the exception's
    type only (the message may quote an address or a customer's words); the row keeps the message."""
    results = []
    for row_id, event in items:
        try:
            subscribers.dispatch(event, row_id)
        except Exception as exc:
            failures = exc.failures if isinstance(exc, DispatchFailed) else [("dispatch", exc)]
            log.warning("outbox event %d (%s) not dispatched: %s", row_id, event.event_name,
                        ", ".join(f"{label}: {type(err).__name__}" for label, err in failures))
            results.append(Delivery(row_id, event.event_name, f"{type(exc).__name__}: {exc}"[:500]))
        else:
            results.append(Delivery(row_id, event.event_name, handed_off=subscribers.hands_off(type(event))))
    return results


def mark(session: Session, results: Sequence[Delivery], *, now: datetime, task_lease: timedelta = TASK_LEASE
         ) -> None:
    """Write the outcomes (the caller commits): done rows get `dispatched_at`; rows handed to a queued task an
    attempt more and the task's lease (unless the task has finished already); failed ones an attempt more,
    the error and a later availability."""
    done = [r.row_id for r in results if r.error is None and not r.handed_off]
    if done:
        session.execute(update(OutboxEvent).where(OutboxEvent.id.in_(done), OutboxEvent.dispatched_at.is_(None))
                        .values(dispatched_at=now, locked_until=None, attempts=OutboxEvent.attempts + 1)
                        .execution_options(synchronize_session=False))
    queued = [r.row_id for r in results if r.error is None and r.handed_off]
    if queued:
        session.execute(update(OutboxEvent).where(OutboxEvent.id.in_(queued), OutboxEvent.dispatched_at.is_(None))
                        .values(locked_until=now + task_lease, attempts=OutboxEvent.attempts + 1)
                        .execution_options(synchronize_session=False))
    for failed in (r for r in results if r.error is not None):
        row = session.get(OutboxEvent, failed.row_id)
        if row is None or row.dispatched_at is not None:
            continue
        row.attempts += 1
        row.last_error, row.locked_until = failed.error, None
        row.available_at = now + backoff(row.attempts)


def task_done(session: Session, row_id: int | None, *, now: datetime) -> None:
    """The queued task of this row has finished (sent, or nothing left to do): the row is done. In the
    task's own transaction, with the record of what it did. None: a task queued before rows were passed."""
    if row_id is not None:
        session.execute(update(OutboxEvent).where(OutboxEvent.id == row_id, OutboxEvent.dispatched_at.is_(None))
                        .values(dispatched_at=now, locked_until=None, last_error=None)
                        .execution_options(synchronize_session=False))


def task_retrying(session: Session, row_id: int | None, error: str, *, now: datetime,
                  task_lease: timedelta = TASK_LEASE) -> None:
    """The task failed and the queue retries it: keep the relay away for another lease, keep the error."""
    if row_id is not None:
        session.execute(update(OutboxEvent).where(OutboxEvent.id == row_id, OutboxEvent.dispatched_at.is_(None))
                        .values(locked_until=now + task_lease, last_error=error[:500])
                        .execution_options(synchronize_session=False))


@dataclass
class RelayReport:
    claimed: int = 0
    dispatched: int = 0
    failed: list[int] = field(default_factory=list)


class _Transaction(Protocol):
    session: Session

    def commit(self) -> None: ...


UowFactory = Callable[[], AbstractContextManager[_Transaction]]


def relay_once(new_uow: UowFactory, subscribers: Subscribers, *, now: datetime, limit: int = 100,
               task_lease: timedelta = TASK_LEASE) -> RelayReport:
    """Dispatch the due rows not marked done (oldest first), at most `limit`. Several relays may run at once:
    each claims different rows."""
    with new_uow() as uow:
        stmt = (select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None), OutboxEvent.available_at <= now,
                                          OutboxEvent.attempts < MAX_ATTEMPTS,
                                          or_(OutboxEvent.locked_until.is_(None), OutboxEvent.locked_until <= now))
                .order_by(OutboxEvent.id).limit(limit).with_for_update(skip_locked=True))
        rows = list(uow.session.scalars(stmt))
        for row in rows:
            row.locked_until = now + LEASE
        items: list[tuple[int, DomainEvent]] = []
        broken: list[Delivery] = []
        for row in rows:
            try:
                items.append((row.id, decode(row.event_type, row.payload)))
            except EventError as exc:
                broken.append(Delivery(row.id, row.event_type, str(exc)))
        uow.commit()
    report = RelayReport(claimed=len(rows))
    results = dispatch(subscribers, items) + broken
    with new_uow() as uow:
        mark(uow.session, results, now=now, task_lease=task_lease)
        uow.commit()
    report.dispatched = sum(1 for r in results if r.error is None)
    report.failed = [r.row_id for r in results if r.error is not None]
    return report


@dataclass(frozen=True)
class OutboxStatus:
    pending: int  # not dispatched, due now, nobody holds it
    delayed: int  # not dispatched, due later
    failing: int  # not dispatched, the last try failed (a subscriber, or the queued task retrying)
    given_up: int  # tried MAX_ATTEMPTS times
    leased: int  # held: being dispatched, or handed to a queued task that has not finished
    dispatched: int
    oldest_pending_at: datetime | None


def outbox_status(session: Session, *, now: datetime) -> OutboxStatus:
    waiting = OutboxEvent.dispatched_at.is_(None)
    held = OutboxEvent.locked_until > now

    def count(*where: object) -> int:
        return int(session.scalar(select(func.count()).select_from(OutboxEvent).where(*where)) or 0)  # type: ignore[arg-type]

    return OutboxStatus(
        pending=count(waiting, OutboxEvent.available_at <= now, OutboxEvent.attempts < MAX_ATTEMPTS,
                      or_(OutboxEvent.locked_until.is_(None), OutboxEvent.locked_until <= now)),
        delayed=count(waiting, OutboxEvent.available_at > now),
        failing=count(waiting, OutboxEvent.last_error.is_not(None), OutboxEvent.attempts < MAX_ATTEMPTS),
        given_up=count(waiting, OutboxEvent.attempts >= MAX_ATTEMPTS),
        leased=count(waiting, held),
        dispatched=count(OutboxEvent.dispatched_at.is_not(None)),
        oldest_pending_at=session.scalar(select(func.min(OutboxEvent.created_at)).where(waiting)))
