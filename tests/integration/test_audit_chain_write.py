"""The audit chain's write at commit: every queued entry of a transaction in one INSERT, in the order queued,
each linked to the one before (across transactions too), and nothing written when the transaction rolls back."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlalchemy import event, select

from caredesk.bootstrap.runtime import Runtime
from caredesk.compliance.audit import GENESIS, record_audit, verify_chain
from caredesk.compliance.read_audit import do_audit_read
from caredesk.storage.orm import AuditEntry


def _entries(rt: Runtime) -> list[AuditEntry]:
    with rt.session_factory() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_entries_of_a_transaction_are_one_insert_chained_in_order(runtime: Runtime) -> None:
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    inserts: list[str] = []

    def on_sql(_conn: object, _cur: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_ENTRY"):
            inserts.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", on_sql)
    try:
        do_audit_read(runtime.uow(), actor="api_key:k1", object_type="customer", object_ids=["c1", "c2", "c3"],
                      via="api", now=now)
        do_audit_read(runtime.uow(), actor="staff:s1", object_type="work_order", object_ids=["w1"], via="web",
                      now=now)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", on_sql)
    assert len(inserts) == 2  # one statement per transaction, whatever the number of entries
    rows = _entries(runtime)
    assert [(r.object_id, r.actor, r.data) for r in rows] == [
        ("c1", "api_key:k1", {"via": "api"}), ("c2", "api_key:k1", {"via": "api"}),
        ("c3", "api_key:k1", {"via": "api"}), ("w1", "staff:s1", {"via": "web"})]
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    with runtime.session_factory() as session:
        assert verify_chain(session).intact and verify_chain(session).checked == 4


def test_a_rolled_back_transaction_writes_no_entry(runtime: Runtime) -> None:
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    with runtime.uow() as uow:
        record_audit(uow.session, actor="system", action="x.read", object_type="x", object_id="1", now=now)
        # left without commit: rolled back
    do_audit_read(runtime.uow(), actor="system", object_type="x", object_ids=["2"], via="api", now=now)
    rows = _entries(runtime)
    assert [r.object_id for r in rows] == ["2"] and rows[0].prev_hash == GENESIS
