"""Case numbers: short numbers people can read out and quote (C20261206-0042) instead of the 32-hex id.

The day is the calendar day in the centre's display time zone (CAREDESK_DISPLAY_TIMEZONE), the zone every time
on a page is shown in: a case opened at 00:30 in Shanghai carries that day, the same date the order page shows.
The sequence restarts each day and has at least four digits (past 9999 it simply grows).

Allocation increments one row per day (`case_counter`); no two orders ever share a number.
- PostgreSQL: in a transaction of its own, one upsert statement, like a database sequence. Held until the
  opening transaction ended, the row's lock deadlocked concurrent intakes that had locked staff rows for
  routing first (a follow-up routed, then an order opened); now it is held for that one statement. An order
  that is rolled back leaves a gap in the day's numbers.
- SQLite: in the opening transaction (the database's single writer already serialises openers, and a second
  connection would wait on that writer); a rolled-back order gives its number back. The first order of a day
  inserts the row; a concurrent first insert loses on the primary key and increments instead.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo

from sqlalchemy import Engine, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caredesk.storage.orm import CaseCounter

__all__ = ["CASE_NUMBER", "allocate_case_number", "case_day", "format_case_number", "is_case_number"]

CASE_NUMBER = re.compile(r"^C\d{8}-\d{4,}$")


def case_day(now: datetime, zone: tzinfo) -> date:
    """The calendar day of `now` (aware) in the business time zone."""
    return now.astimezone(zone).date()


def format_case_number(day: date, sequence: int) -> str:
    if sequence < 1:
        raise ValueError("case sequences start at 1")
    return f"C{day:%Y%m%d}-{sequence:04d}"


def is_case_number(value: str) -> bool:
    return bool(CASE_NUMBER.match(value))


def _increment(session: Session, day: str) -> int | None:
    stmt = (update(CaseCounter).where(CaseCounter.day == day).values(last=CaseCounter.last + 1)
            .returning(CaseCounter.last))
    return session.execute(stmt, execution_options={"synchronize_session": False}).scalar_one_or_none()


def _next_on_postgresql(engine: Engine, day: str) -> int:
    stmt = (pg_insert(CaseCounter).values(day=day, last=1)
            .on_conflict_do_update(index_elements=[CaseCounter.day], set_={"last": CaseCounter.last + 1})
            .returning(CaseCounter.last))
    with engine.begin() as conn:
        return int(conn.execute(stmt).scalar_one())


def allocate_case_number(session: Session, *, now: datetime, zone: tzinfo) -> str:
    """The next case number of today (see the module docstring for the transaction it is taken in)."""
    day = case_day(now, zone)
    key = f"{day:%Y%m%d}"
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        return format_case_number(day, _next_on_postgresql(bind if isinstance(bind, Engine) else bind.engine, key))
    sequence = _increment(session, key)
    if sequence is None:
        try:
            with session.begin_nested():
                session.add(CaseCounter(day=key, last=1))
            sequence = 1
        except IntegrityError:  # another transaction inserted today's row first: it now holds the count
            sequence = _increment(session, key)
            assert sequence is not None
    return format_case_number(day, sequence)

