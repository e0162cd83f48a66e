"""Claim, send, record: how every queued notice task (join notices, alarm notices, SLA notices, surveys, reply
and duty e-mails, the incident outcome) talks to the outside world without holding a transaction open.

1. Claim, in a short transaction: lock the notice's row, check it still needs sending and that nobody holds a
   live claim, then take the claim (a lease: settings.notice_claim) and count the attempt; commit.
2. Send (SMTP, SMS gateway, webhook) with no transaction open.
3. Record, in a new transaction: sent (or failed, and the queue retries), and the event's outbox row done.

A process that dies, or a commit that fails, between 2 and 3 leaves the claim to lapse; the next run claims it
again and sends again: at least once, and the attempt count shows each possible second send. A second worker
running the same notice while the claim is live skips it and leaves the outbox row to the first."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import func, update
from sqlalchemy.orm import Session

from caredesk.clock import Clock
from caredesk.storage.outbox import task_done, task_retrying
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["Claimed", "Skip", "claim_is_live", "deliver_notice", "emailed_row_records"]

log = logging.getLogger(__name__)

P = TypeVar("P")


@dataclass(frozen=True)
class Skip:
    """Nothing to send now. `done`: nothing left to do either (sent already, gone, nobody to tell, answered
    in-app, or rescheduled by an event recorded in the claim's transaction), so the outbox row is done;
    otherwise a live claim of another worker, which finishes the row itself."""

    outcome: str
    done: bool = True


@dataclass(frozen=True)
class Claimed(Generic[P]):
    """The claim was taken; `message` is what to send (built from the rows inside the claim's transaction)."""

    message: P


def claim_is_live(claimed_until: datetime | None, now: datetime) -> bool:
    return claimed_until is not None and claimed_until > now


def deliver_notice(new_uow: Callable[[], UnitOfWork], clock: Clock, outbox_id: int | None, *,
                   task_lease: timedelta,
                   claim: Callable[[Session, datetime], Claimed[P] | Skip],
                   send: Callable[[P], None],
                   record_sent: Callable[[Session, datetime], str],
                   record_failed: Callable[[Session, OSError, datetime], None]) -> str:
    """Run one notice: `claim` locks and claims (or says why not), `send` talks to the outside world,
    `record_sent` / `record_failed` write the outcome. The outcome's name, or the send's OSError raised after
    the failure is recorded (the queue retries; the outbox row keeps its lease meanwhile)."""
    with new_uow() as uow:
        taken = claim(uow.session, clock.now())
        if isinstance(taken, Skip):
            if taken.done:
                task_done(uow.session, outbox_id, now=clock.now())
            uow.commit()
            return taken.outcome
        uow.commit()
    try:
        send(taken.message)
    except OSError as exc:
        with new_uow() as uow:
            now = clock.now()
            record_failed(uow.session, exc, now)
            task_retrying(uow.session, outbox_id, f"{type(exc).__name__}: {exc}", now=now, task_lease=task_lease)
            uow.commit()
        raise
    with new_uow() as uow:
        now = clock.now()
        outcome = record_sent(uow.session, now)
        task_done(uow.session, outbox_id, now=now)
        uow.commit()
    return outcome


def emailed_row_records(model: Any, row_id: str) -> tuple[Callable[[Session, datetime], str],
                                                         Callable[[Session, OSError, datetime], None]]:
    """`record_sent` and `record_failed` for a notice kept on its row as `emailed_at` and `email_claimed_until`
    (SLA marks, reply messages, duty hand-offs). The first record wins: a lapsed claim's second send keeps it."""

    def record_sent(s: Session, now: datetime) -> str:
        s.execute(update(model).where(model.id == row_id)
                  .values(emailed_at=func.coalesce(model.emailed_at, now), email_claimed_until=None)
                  .execution_options(synchronize_session=False))
        return "sent"

    def record_failed(s: Session, exc: OSError, now: datetime) -> None:
        s.execute(update(model).where(model.id == row_id).values(email_claimed_until=None)
                  .execution_options(synchronize_session=False))

    return record_sent, record_failed
