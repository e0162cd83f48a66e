"""What the API accepts and returns. Input models forbid unknown fields; outputs are built from rows."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from caredesk.intake.actions import CHANNELS, CUSTOMER_REF_PATTERN, IntakeOutcome
from caredesk.storage.orm import (
    Alarm,
    EmergencyMeeting,
    Message,
    TriageResult,
    WorkOrder,
    WorkOrderEvent,
)
from caredesk.triage.doc import LabelScore

# Published constraints on text: no NUL anywhere (storage/text_guard.py refuses it with a 400 on every
# database), and for texts that must say something, one character that is not whitespace.
NO_NUL = "^[^\\u0000]*$"
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class MessageIn(StrictModel):
    """The `enum` and `pattern`s are what intake's check_incoming enforces (a 400 `invalid_input`, as before
    they were published); the text's maxLength is set from the configured limit (api/openapi_limits.py)."""

    text: str = Field(min_length=1, max_length=20_000, description="not only whitespace",
                      json_schema_extra={"pattern": NOT_BLANK})
    channel: str = Field(min_length=1, max_length=32, json_schema_extra={"enum": list(sorted(CHANNELS))})
    customer_ref: str = Field(min_length=1, max_length=128, json_schema_extra={"pattern": CUSTOMER_REF_PATTERN})
    conversation_id: str | None = Field(default=None, max_length=64)
    customer_branch: str | None = Field(default=None, min_length=1, max_length=64,
                                        description="the customer's home branch code (scopes who may see them)")


class LabelOut(BaseModel):
    label: str
    confidence: float


class TriageOut(BaseModel):
    language: str
    content_type: LabelOut
    problem_type: LabelOut
    urgency: LabelOut
    emotion: str
    complaint_level: int
    complaint_types: list[str]
    topic: str | None = Field(default=None, description="business intent (triage/lexicons/topics.yaml); null: none")
    product: str | None = Field(default=None, description="the product the message names; null: none")
    entities: list[dict[str, Any]]
    explanation: dict[str, Any]
    model_version: str


class ClarificationOptionOut(BaseModel):
    index: int
    entry_id: str
    question: str


class ClarificationOut(BaseModel):
    """A clarifying question: `decision.answer` asks it; the customer replies with a number or in words."""

    options: list[ClarificationOptionOut]


class DecisionOut(BaseModel):
    kind: Literal["answer", "work_order", "emergency", "handoff"]
    reason: str
    answer: str | None = None
    knowledge_entry_id: str | None = None
    knowledge_version: int | None = None
    score: float | None = None
    work_order_id: str | None = None
    case_number: str | None = None  # the work order's number as the customer is told it (C20261206-0042)
    meeting_id: str | None = None
    clarification: ClarificationOut | None = None
    confirm_emergency: bool = False  # urgent below the emergency gate: a lead confirms
    out_of_scope: bool = False  # not a customer-service message: the reply asked what the customer needs


class MessageCreated(BaseModel):
    message_id: str
    conversation_id: str
    triage: TriageOut
    decision: DecisionOut
    reply: str | None = None  # what the customer was told: the answer, a clarifying question or an acknowledgement
    reply_message_id: str | None
    alarm_id: str | None


def _label(score: LabelScore) -> LabelOut:
    return LabelOut(label=score.label, confidence=round(score.confidence, 4))


def message_created(o: IntakeOutcome) -> MessageCreated:
    d = o.doc
    answered = o.decision.kind == "answer" and o.decision.match is not None
    match = o.decision.match
    best = match or (o.decision.clarify[0] if o.decision.clarify else None)
    clarification = ClarificationOut(options=[ClarificationOptionOut(index=c.index, entry_id=c.entry_id,
                                                                     question=c.question)
                                              for c in o.clarification]) if o.clarification else None
    return MessageCreated(
        message_id=o.message_id, conversation_id=o.conversation_id,
        triage=TriageOut(language=d.language, content_type=_label(d.label("content_type")),
                         problem_type=_label(d.label("problem_type")), urgency=_label(d.label("urgency")),
                         emotion=d.emotion.label, complaint_level=d.complaint_level,
                         complaint_types=d.complaint_types, topic=d.topic, product=d.product,
                         entities=[{"kind": e.kind, "text": e.text} for e in d.entities],
                         explanation=d.explanation(), model_version=d.model_version),
        decision=DecisionOut(kind=o.decision.kind.value, reason=o.decision.reason,
                             answer=match.answer if answered and match else
                             (o.reply_text if o.clarification or o.decision.out_of_scope else None),
                             knowledge_entry_id=match.entry_id if answered and match else None,
                             knowledge_version=match.version if answered and match else None,
                             score=best.score if best else None,
                             work_order_id=o.work_order_id, case_number=o.case_number, meeting_id=o.meeting_id,
                             clarification=clarification, confirm_emergency=o.decision.confirm_emergency,
                             out_of_scope=o.decision.out_of_scope),
        reply=o.reply_text, reply_message_id=o.reply_message_id, alarm_id=o.alarm_id)


def triage_row_out(t: TriageResult) -> dict[str, Any]:
    return {
        "language": t.language, "model_version": t.model_version,
        "content_type": {"label": t.content_type, "confidence": t.content_type_confidence},
        "problem_type": {"label": t.problem_type, "confidence": t.problem_type_confidence},
        "urgency": {"label": t.urgency, "confidence": t.urgency_confidence},
        "emotion": t.emotion, "complaint_level": t.complaint_level, "complaint_types": t.complaint_types,
        "topic": t.topic, "product": t.product, "entities": t.entities, "explanation": t.explanation,
        "decision": {"kind": t.decision_kind, "reason": t.decision_reason, "knowledge_entry_id": t.answer_entry_id,
                     "knowledge_version": t.answer_version, "score": t.answer_score,
                     "work_order_id": t.work_order_id, "meeting_id": t.meeting_id},
    }


def message_out(m: Message) -> dict[str, Any]:
    return {"id": m.id, "direction": m.direction, "author": m.author, "text": m.text_masked,
            "language": m.language, "created_at": m.created_at,
            "triage": triage_row_out(m.triage) if m.triage else None}


def work_order_out(o: WorkOrder, events: list[WorkOrderEvent] | None = None) -> dict[str, Any]:
    """The work-order JSON. `due_at` and `next_due_at` carry the same value, `WorkOrder.next_due_at` (when the
    order is next due in its flow; each SLA target's own due time is under `sla` in the detail): `due_at` is
    the older name, kept for existing clients."""
    out: dict[str, Any] = {
        "id": o.id, "case_number": o.case_number, "title": o.title, "description": o.description,
        "status": o.status,
        "status_category": o.status_category, "flow": o.flow, "step": o.step, "priority": o.priority,
        "content_type": o.content_type, "problem_type": o.problem_type, "urgency": o.urgency,
        "department_id": o.department_id, "assignee_id": o.assignee_id, "conversation_id": o.conversation_id,
        "customer_id": o.customer_id, "created_at": o.created_at, "updated_at": o.updated_at,
        "due_at": o.next_due_at, "next_due_at": o.next_due_at,
    }
    if events is not None:
        out["events"] = [{"seq": e.seq, "kind": e.kind, "actor": e.actor, "data": e.data, "note": e.note,
                          "created_at": e.created_at} for e in events]
    return out


def alarm_out(a: Alarm) -> dict[str, Any]:
    return {"id": a.id, "conversation_id": a.conversation_id, "status": a.status, "level": a.level,
            "count": a.count, "threshold": a.threshold, "message_ids": a.message_ids, "details": a.details,
            "created_at": a.created_at, "acknowledged_at": a.acknowledged_at,
            "acknowledged_by": a.acknowledged_by, "escalation_level": a.escalation_level,
            "escalate_at": a.escalate_at, "assigned_to": a.assigned_to, "resolved_at": a.resolved_at,
            "forecast": a.forecast or None}


def meeting_out(m: EmergencyMeeting, names: dict[str, tuple[str, str]], case_number: str | None = None
                ) -> dict[str, Any]:
    return {"id": m.id, "title": m.title, "status": m.status, "provider": m.provider, "room_url": m.room_url,
            "conversation_id": m.conversation_id, "message_id": m.message_id, "work_order_id": m.work_order_id,
            "case_number": case_number, "starts_at": m.starts_at,
            "ends_at": m.ends_at, "context": m.context,
            "participants": [{"staff_id": p.staff_id, "name": names.get(p.staff_id, ("", ""))[0],
                              "role": names.get(p.staff_id, ("", ""))[1], "reason": p.reason,
                              # "sending": claimed, not yet recorded (taken again after email_claimed_until)
                              "notice": {"email": p.email_status, "email_attempts": p.email_attempts,
                                         "email_sent_at": p.email_sent_at,
                                         "email_claimed_until": p.email_claimed_until, "in_app": p.inapp_status},
                              "joined_at": p.joined_at} for p in m.participants]}


class TransitionIn(StrictModel):
    status: Literal["new", "in_progress", "waiting_customer", "resolved", "closed", "reopened"]
    note: str = Field(default="", max_length=5000)


class PageOut(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


__all__ = [
    "ClarificationOptionOut", "ClarificationOut", "DecisionOut", "MessageCreated", "MessageIn", "PageOut",
    "StrictModel", "TransitionIn", "TriageOut", "alarm_out", "meeting_out", "message_created", "message_out",
    "work_order_out",
]
