"""The work-order figures on hand-made orders, on the real databases: resolved in the period, reopened,
first-contact resolution (no reopen, the customer not back within 7 days), SLA breaches, CSAT, the backlog by
group and age, and the hourly snapshot read where stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, delete, update
from sqlalchemy.orm import Session, sessionmaker

from caredesk.analytics.order_figures import OrderSums, backlog, backlog_by_group, live_order_sums
from caredesk.analytics.order_hours import do_refresh_order_hours, order_sums
from caredesk.storage.orm import (
    Customer,
    OrderHour,
    SatisfactionSurvey,
    SlaMark,
    WorkOrder,
    WorkOrderEvent,
)

D = datetime(2026, 11, 10, tzinfo=UTC)
DAY = timedelta(days=1)
TABLES = (SatisfactionSurvey, SlaMark, WorkOrderEvent, WorkOrder, Customer, OrderHour)


def _clear(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(WorkOrder).values(merged_into_id=None))
        for model in TABLES:
            conn.execute(delete(model))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    _clear(engine)
    yield engine
    _clear(engine)
    engine.dispose()


def _order(oid: str, customer: str, created: datetime, *, resolved: datetime | None = None,
           status: str = "closed", policy: str | None = None, merged_into: str | None = None) -> WorkOrder:
    category = {"closed": "closed", "resolved": "resolved", "in_progress": "open",
                "waiting_customer": "paused"}[status]
    return WorkOrder(id=oid, customer_id=customer, title="t", description="d", content_type="business",
                     problem_type="complaint", urgency="general", flow="complaint", step="investigate",
                     status=status, status_category=category, created_at=created, updated_at=created,
                     resolved_at=resolved, sla_policy=policy, merged_into_id=merged_into,
                     skill_group_id=None)


def _load(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        s.add_all([Customer(id=c, ref=f"ref-{c}") for c in ("ca", "cb", "cc")])
        s.flush()
        s.add_all([
            _order("o1", "ca", D - 2 * DAY, resolved=D + timedelta(hours=1), policy="complaint"),
            _order("o2", "ca", D - 12 * DAY, resolved=D + timedelta(hours=2), policy="complaint"),
            _order("o3", "cb", D - 3 * DAY, resolved=D + timedelta(hours=3)),
            _order("o4", "cb", D - 1 * DAY, resolved=D + 5 * DAY),  # cb came back 2 days after o3 opened
            _order("o5", "cc", D - 10 * DAY, resolved=D + timedelta(hours=4)),
            _order("o6", "cc", D + 4 * DAY, status="in_progress"),  # 14 days after o5 opened: o5 still FCR
            _order("o7", "ca", D - 5 * DAY, resolved=D - timedelta(hours=1)),  # resolved before the period
            _order("o8", "ca", D - 6 * DAY, status="waiting_customer"),
        ])
        s.flush()
        s.add(_order("o9", "cb", D - 20 * DAY, resolved=D + timedelta(hours=5), merged_into="o1"))  # left out
        s.add_all([
            WorkOrderEvent(work_order_id="o2", seq=2, kind="status_changed", actor="customer",
                           data={"from": "closed", "to": "reopened"}, created_at=D - 5 * DAY),
            WorkOrderEvent(work_order_id="o3", seq=2, kind="status_changed", actor="agent",
                           data={"from": "new", "to": "in_progress"}, created_at=D - 2 * DAY),
            SlaMark(work_order_id="o2", target="resolution", kind="breach", created_at=D - DAY),
            SlaMark(work_order_id="o1", target="first_response", kind="breach", created_at=D - DAY),  # not resolution
        ])
        for oid, rating, at in (("o1", 5, D + timedelta(hours=6)), ("o2", 4, D + timedelta(hours=7)),
                                ("o3", 2, D + timedelta(hours=8)), ("o5", 1, D - timedelta(hours=2)),
                                ("o7", None, D + timedelta(hours=9))):
            s.add(SatisfactionSurvey(work_order_id=oid, token=f"tok-{oid}", channel="email", rating=rating,
                                     answered_at=at if rating else None, created_at=D - DAY))


EXPECTED = OrderSums(resolved=4, reopened=1, first_contact=2, with_sla=2, breached=1, surveys=3, rating_sum=11,
                     satisfied=2)


def test_order_figures_of_a_day(engine: Engine) -> None:
    _load(engine)
    with Session(engine) as s:
        assert live_order_sums(s, D, D + DAY) == EXPECTED
        assert live_order_sums(s, D - 30 * DAY, D - 20 * DAY) == OrderSums()
        assert backlog(s) == 2
        bands = backlog_by_group(s, D + 4 * DAY + timedelta(hours=12))
        assert bands == {None: {"<4h": 0, "4-24h": 1, "1-3d": 0, "3-7d": 0, ">=7d": 1}}  # o6 12 h, o8 10 days


def test_the_hourly_snapshot_is_read_where_stored(engine: Engine) -> None:
    _load(engine)
    factory = sessionmaker(engine)
    stored = do_refresh_order_hours(factory, D - DAY, D + 2 * DAY, now=D + DAY + timedelta(minutes=5))
    assert stored == 48  # the hours that had ended by then
    with Session(engine) as s:
        assert order_sums(s, D, D + DAY) == EXPECTED
        # a period with partial hours at both ends: the stored hours plus the pieces from the orders
        # (o7 too, resolved an hour before D, not FCR: o1 came 3 days after it; no survey answered yet)
        assert order_sums(s, D - timedelta(hours=1, minutes=30), D + timedelta(hours=4, minutes=30)) == \
            OrderSums(resolved=5, reopened=1, first_contact=2, with_sla=2, breached=1)
        assert order_sums(s, D + timedelta(minutes=30), D + timedelta(hours=2, minutes=30)) == OrderSums(
            resolved=2, first_contact=1, reopened=1, with_sla=2, breached=1)  # o1 and o2 alone
    one = D + timedelta(hours=1)  # o1's hour
    with engine.begin() as conn:  # the snapshot is what is read for a final hour ...
        conn.execute(update(OrderHour).where(OrderHour.hour_start == one).values(resolved=99))
    with Session(engine) as s:
        assert order_sums(s, D, D + DAY).resolved == 99 + 3
    with engine.begin() as conn:  # ... and an hour not stored is computed from the orders
        conn.execute(delete(OrderHour).where(OrderHour.hour_start == one))
    with Session(engine) as s:
        assert order_sums(s, D, D + DAY) == EXPECTED
    # an hour not ended yet is never stored
    assert do_refresh_order_hours(factory, D + DAY, D + 3 * DAY, now=D + DAY + timedelta(minutes=50)) == 0
