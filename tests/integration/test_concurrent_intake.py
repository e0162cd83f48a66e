"""The audit chain's lock against the rows a change locks, on PostgreSQL, with two real transactions. Intake took
the chain's lock mid-transaction (when it recorded an audit entry) and then today's case-counter row; another
intake held that row and then wanted the chain's lock: a deadlock, about 2% of requests in the PostgreSQL bench.
The chain is now written at commit, its lock taken last, so the same interleaving simply waits."""

from __future__ import annotations

import threading
from zoneinfo import ZoneInfo

import pytest

from caredesk.compliance.audit import record_audit, verify_chain
from caredesk.runtime import Runtime
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
