"""Retention: old messages anonymised, idle customers' contact data cleared, old notices deleted, recent
data untouched, the audit log never shortened below three years."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.compliance.retention import REDACTED, RetentionPolicy, do_apply_retention
from caredesk.storage.orm import AuditEntry, Conversation, Customer, Message

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_policy_refuses_less_than_three_years_of_audit() -> None:
    with pytest.raises(ValueError, match="at least"):
        RetentionPolicy(audit_days=365)


def test_retention_anonymises_old_data_only(runtime: Runtime) -> None:
    old, recent = NOW - timedelta(days=6 * 365), NOW - timedelta(days=10)
    with runtime.uow() as uow:
        s = uow.session
        gone = Customer(ref="old-cust", name="李雷", phone="13900001111", id_number="11010519491231002X",
                        bank_card="6222021234567890128", address="北京市朝阳区建国路88号", created_at=old)
        kept = Customer(ref="new-cust", name="韩梅梅", phone="13900002222", created_at=old)
        s.add_all([gone, kept])
        s.flush()
        c1 = Conversation(customer_id=gone.id, channel="chat", created_at=old, last_message_at=old)
        c2 = Conversation(customer_id=kept.id, channel="chat", created_at=old, last_message_at=recent)
        s.add_all([c1, c2])
        s.flush()
        s.add_all([Message(conversation_id=c1.id, direction="in", author="customer", text="旧消息 13900001111",
                           text_masked="旧消息 139****1111", created_at=old),
                   Message(conversation_id=c2.id, direction="in", author="customer", text="新消息",
                           text_masked="新消息", created_at=recent)])
        uow.commit()
    report = do_apply_retention(runtime.uow(), RetentionPolicy(), now=NOW)
    assert (report.messages, report.customers) == (1, 1)
    with runtime.session_factory() as s:
        texts = {m.text_masked: m.text for m in s.scalars(select(Message))}
        assert texts == {REDACTED: REDACTED, "新消息": "新消息"}
        customers = {c.ref: (c.name, c.phone) for c in s.scalars(select(Customer))}
        assert customers == {"old-cust": (None, None), "new-cust": ("韩梅梅", "13900002222")}
        cleared = s.scalar(select(Customer).where(Customer.ref == "old-cust"))
        assert cleared is not None
        assert (cleared.id_number, cleared.bank_card, cleared.address, cleared.phone_hash, cleared.id_number_hash,
                cleared.bank_card_hash) == (None,) * 6
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "retention.applied")) is not None
    again = do_apply_retention(runtime.uow(), RetentionPolicy(), now=NOW)
    assert (again.messages, again.customers) == (0, 0)
