"""Rebuilding the hourly roll-up of a period from the messages and their triage: after a bug fix in the counting,
a restore, or an import that bypassed intake. One transaction per chunk of whole hours, so an interrupted rebuild
leaves every hour either as it was or rebuilt, never half-counted; a rebuild can simply be run again."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from caredesk.analytics.order_hours import do_refresh_order_hours
from caredesk.analytics.rollups import MessageFacts, add_messages, hour_of
from caredesk.analytics.sources import facts_between
from caredesk.storage.orm import HourlyCount, Message

__all__ = ["CHUNK", "Rebuilt", "do_rebuild", "message_span"]

CHUNK = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Rebuilt:
    start: datetime  # whole hours: the first hour touched ...
    end: datetime  # ... and the end of the last
    messages: int
    rows: int
    order_hours: int = 0  # hours of work-order figures stored (analytics/order_hours.py)


def message_span(session: Session) -> tuple[datetime, datetime] | None:
    """The first and last customer message's time (None: no message yet)."""
    first, last = session.execute(select(func.min(Message.created_at), func.max(Message.created_at))
                                  .where(Message.direction == "in", Message.author == "customer")).one()
    return (first, last) if first is not None and last is not None else None


def do_rebuild(session_factory: Callable[[], Session], start: datetime, end: datetime, *, now: datetime,
               chunk: timedelta = CHUNK, progress: Callable[[datetime], None] | None = None) -> Rebuilt:
    """Delete and recount every hour that [start, end) touches, chunk by chunk, each in its own transaction;
    then recompute the work-order figures of the hours it touches that have ended by `now`."""
    lo, stop = hour_of(start), hour_of(end)
    if stop < end:
        stop += timedelta(hours=1)
    first, messages, rows = lo, 0, 0
    while lo < stop:
        hi = min(lo + chunk, stop)
        with session_factory() as session, session.begin():
            session.execute(delete(HourlyCount).where(HourlyCount.hour_start >= lo, HourlyCount.hour_start < hi))
            by_hour: dict[datetime, list[MessageFacts]] = defaultdict(list)
            for fact in facts_between(session, lo, hi):
                by_hour[hour_of(fact.received_at)].append(fact)
            for hour_facts in by_hour.values():  # one upsert per hour keeps each statement's parameters few
                rows += add_messages(session, hour_facts)
                messages += len(hour_facts)
        if progress is not None:
            progress(hi)
        lo = hi
    hours = do_refresh_order_hours(session_factory, first, stop, now=now)
    return Rebuilt(first, stop, messages, rows, hours)
