"""`do_correct_label` on SQLite and PostgreSQL: stored with a masked-text snapshot, audited, validated, and
read back by training."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.compliance.audit import verify_chain
from caredesk.errors import Conflict, InvalidInput, NotFound
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.learning.correction_actions import (
    correction_records,
    do_correct_label,
    latest_corrections,
    list_corrections,
)
from caredesk.learning.training_data import stored_corrections
from caredesk.storage.orm import AuditEntry, LabelCorrection, Message
from caredesk.triage.labels import Urgency

PHONE = "13912345678"
TEXT = f"我的信用卡账单有一笔不认识的消费，请回电 {PHONE}"


def _receive(rt: Runtime, text: str = TEXT) -> str:
    return do_receive_message(rt, IncomingMessage(text, "web", "cust-corr-1")).message_id


def _other(label: str, choices: type[Urgency] = Urgency) -> str:
    return next(m.value for m in choices if m.value != label)


def test_do_correct_label_stores_masked_snapshot_and_audits(runtime: Runtime) -> None:
    message_id = _receive(runtime)
    with runtime.session_factory() as s:
        model_said = s.get(Message, message_id).triage.urgency
    new = _other(model_said)
    out = do_correct_label(runtime.uow(), message_id, "urgency", new, actor="staff:s1", staff_id=None,
                           now=runtime.clock.now())
    assert (out.head, out.old_label, out.new_label) == ("urgency", model_said, new)
    with runtime.session_factory() as s:
        row = s.scalars(select(LabelCorrection)).one()
        assert PHONE not in row.text_masked and row.text_masked == s.get(Message, message_id).text_masked
        assert row.language == "zh"
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "triage.correct_label")).one()
        assert audit.object_id == message_id and audit.actor == "staff:s1"
        assert audit.data == {"head": "urgency", "old": model_said, "new": new, "correction_id": row.id}
        assert PHONE not in str(audit.data)
        assert verify_chain(s).intact
        [record] = correction_records(s)
        assert (record.head, record.label, record.text_masked) == ("urgency", new, row.text_masked)
    records, problem = stored_corrections(runtime.session_factory)
    assert problem == "" and len(records) == 1


def test_do_correct_label_chains_old_labels_and_latest_wins(runtime: Runtime) -> None:
    message_id = _receive(runtime)
    now = runtime.clock.now()
    first = do_correct_label(runtime.uow(), message_id, "emotion", "angry", actor="a", staff_id=None, now=now)
    second = do_correct_label(runtime.uow(), message_id, "emotion", "anxious", actor="a", staff_id=None,
                              now=now + timedelta(seconds=1))
    assert second.old_label == "angry" and first.new_label == "angry"
    with runtime.session_factory() as s:
        assert latest_corrections(s, [message_id])[message_id]["emotion"].new_label == "anxious"
        assert [c.new_label for c in list_corrections(s, message_id)] == ["angry", "anxious"]
    with pytest.raises(Conflict):  # already that label: nothing to record
        do_correct_label(runtime.uow(), message_id, "emotion", "anxious", actor="a", staff_id=None,
                         now=now + timedelta(seconds=2))


def test_do_correct_label_refuses_bad_input_and_writes_nothing(runtime: Runtime) -> None:
    message_id = _receive(runtime)
    now = runtime.clock.now()
    with pytest.raises(InvalidInput):
        do_correct_label(runtime.uow(), message_id, "colour", "red", actor="a", staff_id=None, now=now)
    with pytest.raises(InvalidInput):
        do_correct_label(runtime.uow(), message_id, "urgency", "panic", actor="a", staff_id=None, now=now)
    with pytest.raises(NotFound):
        do_correct_label(runtime.uow(), "no-such-message", "urgency", "urgent", actor="a", staff_id=None, now=now)
    with runtime.session_factory() as s:
        bot_reply = s.scalars(select(Message).where(Message.direction == "out")).first()
        assert s.scalars(select(LabelCorrection)).first() is None
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "triage.correct_label")).first() is None
    if bot_reply is not None:  # an outgoing message has no triage to correct
        with pytest.raises(Conflict):
            do_correct_label(runtime.uow(), bot_reply.id, "urgency", "urgent", actor="a", staff_id=None, now=now)
