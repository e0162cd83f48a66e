"""History import (analytics/history_import.py) on SQLite and PostgreSQL: stored as history with triage, roll-ups
and one audit entry, nothing started; bad rows listed with nothing written; an interruption mid-save leaves the
database as it was; a re-import skips what is already there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from caredesk.analytics import history_import
from caredesk.analytics.history_file import HistoryRow, read_history_csv
from caredesk.analytics.history_import import do_import_history
from caredesk.analytics.rollups import TOTAL, hourly_counts
from caredesk.bootstrap.runtime import Runtime
from caredesk.errors import InvalidFile
from caredesk.storage.orm import (
    Alarm,
    AuditEntry,
    Conversation,
    Customer,
    EmergencyMeeting,
    HourlyCount,
    Message,
    OutboxEvent,
    TriageResult,
    WorkOrder,
)

GOOD = """received_at,text,channel,customer_ref,conversation_ref
2026-11-02T09:15:00+08:00,我的信用卡丢了，怎么挂失？,web,H-001,
2026-11-02T09:40:00+08:00,"我的银行卡刚刚被盗刷了，不是我本人操作，请马上冻结",app,H-001,
2026-11-02 10:05:00,转账手续费怎么收？,web,H-002,
2026-11-02T01:30:00Z,How do I reset my online banking password?,email,H-003,T-9
2026-11-02T01:45:00Z,Still can't log in. Third time I ask: I will complain to the regulator.,email,H-003,T-9
2026-11-03T09:00:00+08:00,信用卡账单分期怎么办理？,wechat,H-002,
"""


def _counts(rt: Runtime) -> dict[str, int]:
    with rt.session_factory() as s:
        return {model.__tablename__: s.scalar(select(func.count()).select_from(model)) or 0
                for model in (Customer, Conversation, Message, TriageResult, WorkOrder, EmergencyMeeting, Alarm,
                              OutboxEvent, HourlyCount, AuditEntry)}


def _rows(rt: Runtime, text: str) -> list[HistoryRow]:
    return read_history_csv(text.encode(), name="h.csv", zone=rt.settings.display_timezone, now=rt.clock.now(),
                            max_chars=rt.settings.max_message_chars)


def test_history_import_stores_history_and_starts_nothing(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    before = _counts(rt)
    result = do_import_history(rt, _rows(rt, GOOD), name="h.csv", actor="cli")
    assert (result.rows, result.imported, result.skipped) == (6, 6, 0)
    assert (result.customers_created, result.conversations_created) == (3, 5)  # H-001 web, app; H-002 two days; T-9
    assert result.start == datetime(2026, 11, 2, 1, 15, tzinfo=UTC)
    assert result.decisions.get("emergency", 0) >= 1  # decided as intake would have (card fraud), not started
    after = _counts(rt)
    grew = {k: after[k] - before[k] for k in after}
    assert grew["message"] == 6 and grew["triage_result"] == 6 and grew["customer"] == 3
    for started in ("work_order", "emergency_meeting", "alarm", "outbox"):
        assert grew[started] == 0, started
    with rt.session_factory() as s:
        messages = s.scalars(select(Message).where(Message.import_key.is_not(None))
                             .order_by(Message.created_at)).all()
        assert messages[0].created_at == datetime(2026, 11, 2, 1, 15, tzinfo=UTC)
        assert all(m.direction == "in" for m in messages)  # no bot reply stored
        by_text = {m.text: m.triage for m in messages}
        lost = by_text["我的信用卡丢了，怎么挂失？"]
        assert lost is not None and (lost.topic, lost.product) == ("card_lost_frozen", "credit_card")
        fraud = by_text["我的银行卡刚刚被盗刷了，不是我本人操作，请马上冻结"]
        assert fraud is not None and fraud.decision_kind == "emergency" and fraud.meeting_id is None
        assert fraud.work_order_id is None and fraud.explanation["history_import"] is True
        thread = s.scalars(select(Conversation).where(Conversation.import_ref == "ref:T-9")).one()
        assert thread.created_at < thread.last_message_at
        total = hourly_counts(s, TOTAL, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC))[""]
        assert sum(total.values()) == 6
        assert total[datetime(2026, 11, 2, 1, tzinfo=UTC)] == 4  # 09:15 and 09:40 +08, 01:30Z, 01:45Z
        assert total[datetime(2026, 11, 2, 2, tzinfo=UTC)] == 1  # 10:05 naive: Asia/Shanghai
        topics = hourly_counts(s, "topic", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC))
        assert sum(topics["card_lost_frozen"].values()) == 1
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "history.imported")).one()
        assert audit.data["imported"] == 6 and audit.data["file"] == "h.csv"

    again = do_import_history(rt, _rows(rt, GOOD), name="h.csv", actor="cli")
    assert (again.imported, again.skipped) == (0, 6)
    assert {k: v for k, v in _counts(rt).items() if k != "audit_entry"} == {
        k: v for k, v in after.items() if k != "audit_entry"}


def test_history_import_lists_every_bad_row_and_writes_nothing(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    future = (rt.clock.now() + timedelta(days=2)).isoformat()
    bad = (f"received_at,text,channel,customer_ref\n"
           f"2026-11-02T09:15:00+08:00,fine,web,H-1\n"
           f"yesterday,hello,web,H-1\n"
           f"2026-11-02T09:15:00+08:00,   ,fax,\n"
           f"{future},{'x' * (rt.settings.max_message_chars + 1)},web,bad ref\n"
           f"2026-11-02T09:15:00+08:00,two cells\n")
    before = _counts(rt)
    with pytest.raises(InvalidFile) as caught:
        _rows(rt, bad)
    errors = [(e["line"], e["column"], e["reason"]) for e in caught.value.details["errors"]]
    assert [(line, column) for line, column, _ in errors] == [
        (3, "received_at"), (4, "text"), (4, "channel"), (4, "customer_ref"), (5, "received_at"), (5, "text"),
        (5, "customer_ref"), (6, "")]
    assert errors[0][2].startswith("not an ISO 8601") and errors[4][2] == "in the future"
    assert "4 bad row(s)" in caught.value.message
    with pytest.raises(InvalidFile) as header:
        _rows(rt, "received_at,text,channel,when\n")
    assert [(e["column"], e["reason"]) for e in header.value.details["errors"]] == [
        ("customer_ref", "missing column"), ("when", "unknown column")]
    assert _counts(rt) == before


def test_history_import_interrupted_mid_save_leaves_nothing(demo_runtime: Runtime,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    rt = demo_runtime
    monkeypatch.setattr(history_import, "CHUNK", 2)  # three flushes for six rows: stop after the first
    before = _counts(rt)

    def interrupt(phase: str, done: int, total: int) -> None:
        if phase == "save" and 0 < done < total:
            with rt.session_factory() as s:  # what the import has flushed is in its open transaction only
                assert s.scalar(select(func.count()).select_from(Message)) == before["message"]
            raise KeyboardInterrupt  # Ctrl-C half-way through the writes

    with pytest.raises(KeyboardInterrupt):
        do_import_history(rt, _rows(rt, GOOD), name="h.csv", actor="cli", progress=interrupt)
    assert _counts(rt) == before
    result = do_import_history(rt, _rows(rt, GOOD), name="h.csv", actor="cli")  # the next run imports it all
    assert result.imported == 6


def test_surges_in_the_imported_period_are_found_when_they_would_have_fired(demo_runtime: Runtime) -> None:
    """Three weeks of usual traffic in the roll-up, then a file whose fee questions rise for two hours: the
    import's replay opens the topic's surge with detected_at inside the rise, and tells nobody (it is history)."""
    import random

    from caredesk.analytics.rollups import MessageFacts, add_messages
    from caredesk.storage.orm import Notification, Surge

    rt = demo_runtime
    rise = datetime(2026, 3, 2, 2, tzinfo=UTC)  # Monday 10:00 in Shanghai
    rng = random.Random(7)
    usual = [MessageFacts(rise - back * timedelta(hours=1) + timedelta(minutes=rng.randrange(60)),
                          {"topic": (topic,)}, frozenset({"messages"}))
             for back in range(21 * 24, 0, -1) for topic in ("fees_charges", "card_loss")
             for _ in range(sum(rng.random() < 0.4 for _ in range(3)))]
    with rt.uow() as uow:
        add_messages(uow.session, usual)
        uow.commit()
    texts = ["转账手续费怎么又涨了", "为什么收我手续费", "这个年费我不认可", "手续费太高了吧"]
    lines = ["received_at,text,channel,customer_ref"] + [
        f"{(rise + timedelta(minutes=5 * i)).isoformat()},{texts[i % 4]},app,S-{i % 7}" for i in range(24)]

    result = do_import_history(rt, _rows(rt, "\n".join(lines) + "\n"), name="s.csv", actor="cli")

    assert result.imported == 24 and result.surges_opened >= 1
    with rt.session_factory() as s:
        surge = s.scalars(select(Surge).where(Surge.dimension == "topic", Surge.value == "fees_charges")).one()
        notices = s.scalar(select(func.count()).select_from(Notification)) or 0
    assert rise < surge.detected_at <= rise + timedelta(hours=3)
    assert notices == 0
