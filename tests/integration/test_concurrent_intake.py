"""Locks that concurrent intakes take in different orders, on PostgreSQL, with two real transactions (about 2% of
requests deadlocked in the PostgreSQL bench with 2 workers):
- the audit chain's lock was taken mid-transaction, then today's case-counter row; another intake held that
  row and wanted the chain's lock. The chain is now written at commit, its lock taken last.
- a follow-up routed (staff rows locked) and then opened an order (the case counter), while another intake
  held the counter and routed. The counter is now incremented in a transaction of its own."""

from __future__ import annotations

import threading
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.compliance.audit import record_audit, verify_chain
from caredesk.storage.orm import Notification, Staff, WorkOrder
from caredesk.workorders.assignment import _candidates
from caredesk.workorders.case_numbers import allocate_case_number

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_audit_and_a_row_lock_taken_in_opposite_orders_do_not_deadlock(runtime: Runtime) -> None:
    now = runtime.clock.now()
    with runtime.session_factory() as setup:
        allocate_case_number(setup, now=now, zone=SHANGHAI)  # today's counter row exists
        setup.commit()
    first, second = runtime.session_factory(), runtime.session_factory()
    numbers: list[str] = []
    failures: list[BaseException] = []
    try:
        record_audit(first, actor="a", action="test.first", object_type="t", object_id="1", now=now)
        numbers.append(allocate_case_number(second, now=now, zone=SHANGHAI))  # second holds the counter row

        def first_goes_on() -> None:
            try:
                numbers.append(allocate_case_number(first, now=now, zone=SHANGHAI))  # waits for second
                first.commit()
            except BaseException as exc:  # a deadlock would be raised here or in the main thread
                failures.append(exc)

        waiting = threading.Thread(target=first_goes_on)
        waiting.start()
        waiting.join(timeout=1.5)  # first is now blocked on the counter row (PostgreSQL's deadlock check: 1 s)
        record_audit(second, actor="b", action="test.second", object_type="t", object_id="2", now=now)
        second.commit()
        waiting.join(timeout=30)
        assert not waiting.is_alive() and failures == []
    finally:
        first.close()
        second.close()
    assert len(set(numbers)) == 2  # one case number each
    with runtime.session_factory() as s:
        check = verify_chain(s)
        assert check.intact and check.checked == 2


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_routing_locks_and_case_numbers_in_opposite_orders_do_not_deadlock(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    now = rt.clock.now()
    with rt.session_factory() as setup:
        allocate_case_number(setup, now=now, zone=SHANGHAI)  # today's counter row exists
        setup.commit()
        staff_id = setup.scalars(select(Staff.id).order_by(Staff.id).limit(1)).one()
    first, second = rt.session_factory(), rt.session_factory()
    numbers: list[str] = []
    failures: list[BaseException] = []
    try:
        first.scalars(select(Staff).where(Staff.id == staff_id).with_for_update()).one()  # first routes
        numbers.append(allocate_case_number(second, now=now, zone=SHANGHAI))  # second opens an order

        def second_routes() -> None:
            try:
                second.scalars(select(Staff).where(Staff.id == staff_id).with_for_update()).one()  # waits for first
                second.commit()
            except BaseException as exc:
                failures.append(exc)

        waiting = threading.Thread(target=second_routes)
        waiting.start()
        waiting.join(timeout=1.5)  # second is blocked on the staff row
        numbers.append(allocate_case_number(first, now=now, zone=SHANGHAI))  # first opens an order after routing
        first.commit()
        waiting.join(timeout=30)
        assert not waiting.is_alive() and failures == []
    finally:
        first.close()
        second.close()
    assert len(set(numbers)) == 2


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_routing_locks_do_not_wait_for_rows_that_only_reference_the_staff(demo_runtime: Runtime) -> None:
    """Two emergencies at once: each inserts its meeting's participants and notices (a foreign key check takes a
    KEY SHARE lock on each staff row), then routes its order, locking the candidates. With FOR UPDATE each waited
    for the other's KEY SHARE: a deadlock, answered 503 (seen in the chaos check). Routing changes no key of a
    staff row: FOR NO KEY UPDATE, which KEY SHARE does not block."""
    rt = demo_runtime
    now = rt.clock.now()
    with rt.session_factory() as setup:
        agent = setup.scalars(select(Staff).where(Staff.role == "agent", Staff.active.is_(True),
                                                  Staff.capacity > 0, Staff.department_id.is_not(None))
                              .order_by(Staff.id).limit(1)).one()
        department_id = agent.department_id
    first, second = rt.session_factory(), rt.session_factory()
    failures: list[BaseException] = []
    try:
        for s in (first, second):  # both reference the agent, as a meeting participant and notice do
            s.add(Notification(staff_id=agent.id, kind="test", title="t", created_at=now))
            s.flush()

        def first_routes() -> None:
            try:
                assert agent.id in {c.id for c in _candidates(first, WorkOrder(department_id=department_id), None)}
                first.commit()
            except BaseException as exc:  # a deadlock would be raised here or in the main thread
                failures.append(exc)

        routing = threading.Thread(target=first_routes)
        routing.start()
        routing.join(timeout=1.5)  # with FOR UPDATE, first waits here for second's KEY SHARE
        assert agent.id in {c.id for c in _candidates(second, WorkOrder(department_id=department_id), None)}
        second.commit()
        routing.join(timeout=30)
        assert not routing.is_alive() and failures == []
    finally:
        first.close()
        second.close()
