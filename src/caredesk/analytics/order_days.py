"""The daily snapshot of work-order figures (table analytics_order_day) and the read of a period through it.

Work-order figures are not counters that intake can increment: a reopen, or the customer coming back within the
first-contact window, changes a day after it ended. So each whole UTC day is computed from the orders and stored
with the time it was computed; a period reads a stored day only when it was computed after the day ended, and
computes the rest (partial days at the ends, today, days never stored) from the orders. A periodic task
recomputes the last REFRESH_DAYS days every hour (the first-contact window plus one); `caredesk analytics
rebuild` recomputes any period. A change to an order resolved longer ago than that (a late reopen) shows once
the rebuild has run over its day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from caredesk.analytics.metrics import FCR_WINDOW
from caredesk.analytics.order_figures import OrderSums, live_order_sums
from caredesk.storage.orm import OrderDay

__all__ = ["REFRESH_DAYS", "day_of", "do_refresh_order_days", "order_sums"]

DAY = timedelta(days=1)
REFRESH_DAYS = FCR_WINDOW.days + 1


def day_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def order_sums(session: Session, start: datetime, end: datetime) -> OrderSums:
    """OrderSums of [start, end): whole days from the snapshot where it is final, the rest from the orders."""
    first = day_of(start) + (DAY if day_of(start) < start else timedelta(0))
    last = max(first, day_of(end))
    columns = [OrderDay.__table__.c[name] for name in OrderSums.names()]
    stored = {day: (computed_at, OrderSums(*counts)) for day, computed_at, *counts in session.execute(
        select(OrderDay.day, OrderDay.computed_at, *columns).where(OrderDay.day >= first, OrderDay.day < last))
    } if first < last else {}
    sums = OrderSums()
    pieces: list[tuple[datetime, datetime]] = [(start, min(first, end))]  # computed from the orders
    day = first
    while day < last:
        computed_at, day_sums = stored.get(day, (None, None))
        if computed_at is not None and day_sums is not None and computed_at >= day + DAY:
            sums += day_sums
        elif pieces[-1][1] == day:  # extends the live piece before it: one query for a run of days
            pieces[-1] = (pieces[-1][0], day + DAY)
        else:
            pieces.append((day, day + DAY))
        day += DAY
    pieces.append((max(last, start), end))
    for lo, hi in pieces:
        if lo < hi:
            sums += live_order_sums(session, lo, hi)
    return sums


def do_refresh_order_days(session_factory: Callable[[], Session], start: datetime, end: datetime, *,
                          now: datetime) -> int:
    """Recompute and store every whole day in [day_of(start), end) that has ended by `now`, a transaction per
    day; returns the number of days stored."""
    day, done = day_of(start), 0
    while day < end and day + DAY <= now:
        with session_factory() as session, session.begin():
            sums = live_order_sums(session, day, day + DAY)
            session.execute(delete(OrderDay).where(OrderDay.day == day))
            session.add(OrderDay(day=day, computed_at=now, **dict(zip(OrderSums.names(), _values(sums),
                                                                      strict=True))))
        done += 1
        day += DAY
    return done


def _values(sums: OrderSums) -> tuple[int, ...]:
    return tuple(getattr(sums, name) for name in OrderSums.names())
