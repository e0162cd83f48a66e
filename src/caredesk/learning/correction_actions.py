"""Agents correct a message's triage labels. The triage result keeps what the model said (and the decision
taken on it); each correction is its own row, with a masked-text snapshot that training reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.compliance.audit import record_audit
from caredesk.errors import Conflict, NotFound
from caredesk.learning.corrections import CORRECTABLE, check_correction
from caredesk.storage.orm import LabelCorrection, Message, TriageResult
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.triage.examples import CorrectionRecord

__all__ = ["CorrectionOut", "correction_records", "do_correct_label", "latest_corrections",
           "list_corrections", "model_label"]


@dataclass(frozen=True, slots=True)
class CorrectionOut:
    id: str
    message_id: str
    head: str
    old_label: str
    new_label: str
    staff_id: str | None
    actor: str
    created_at: datetime


def _out(row: LabelCorrection, actor: str = "") -> CorrectionOut:
    return CorrectionOut(row.id, row.message_id, row.head, row.old_label, row.new_label, row.staff_id, actor,
                         row.created_at)


def model_label(triage: TriageResult, head: str) -> str:
    """What triage said for a head (as stored on the triage result)."""
    value = getattr(triage, head, None) if head in CORRECTABLE else None
    if value is None:
        value = (triage.explanation or {}).get(head, {}).get("label", "")
    return str(value)


def latest_corrections(session: Session, message_ids: Iterable[str]) -> dict[str, dict[str, LabelCorrection]]:
    """{message_id: {head: newest correction}} in one query."""
    ids = list(message_ids)
    out: dict[str, dict[str, LabelCorrection]] = {}
    if not ids:
        return out
    rows = session.scalars(select(LabelCorrection).where(LabelCorrection.message_id.in_(ids))
                           .order_by(LabelCorrection.created_at, LabelCorrection.id))
    for row in rows:
        out.setdefault(row.message_id, {})[row.head] = row
    return out


def list_corrections(session: Session, message_id: str) -> list[CorrectionOut]:
    if session.get(Message, message_id) is None:
        raise NotFound("message not found", id=message_id)
    rows = session.scalars(select(LabelCorrection).where(LabelCorrection.message_id == message_id)
                           .order_by(LabelCorrection.created_at, LabelCorrection.id))
    return [_out(r) for r in rows]


def correction_records(session: Session) -> list[CorrectionRecord]:
    """Every correction as training reads it (masked text, head, label), oldest first."""
    rows = session.execute(select(LabelCorrection.text_masked, LabelCorrection.head,
                                  LabelCorrection.new_label, LabelCorrection.created_at)
                           .order_by(LabelCorrection.created_at, LabelCorrection.id))
    return [CorrectionRecord(text, head, label, at) for text, head, label, at in rows]


def do_correct_label(uow: UnitOfWork, message_id: str, head: str, label: str, *, actor: str,
                     staff_id: str | None, now: datetime) -> CorrectionOut:
    """Record that `label` is right for `head` of an inbound message's triage. 400 for an unknown head or
    label, 404 for an unknown message, 409 when the message has no triage or already has that label."""
    check_correction(head, label)
    with uow:
        s = uow.session
        message = s.get(Message, message_id)
        if message is None:
            raise NotFound("message not found", id=message_id)
        if message.triage is None:
            raise Conflict("this message has no triage to correct", id=message_id)
        previous = latest_corrections(s, [message_id]).get(message_id, {}).get(head)
        current = previous.new_label if previous else model_label(message.triage, head)
        if current == label:
            raise Conflict(f"{head} is already {label}", head=head, label=label)
        row = LabelCorrection(message_id=message_id, head=head, old_label=current, new_label=label,
                              text_masked=message.text_masked, language=message.language, staff_id=staff_id,
                              created_at=now)
        s.add(row)
        s.flush()
        record_audit(s, actor=actor, action="triage.correct_label", object_type="message",
                     object_id=message_id, data={"head": head, "old": current, "new": label, "correction_id": row.id},
                     now=now)
        result = _out(row, actor)
        uow.commit()
    return result
