"""A lead confirms an emergency that the gate held back (urgent below the confidence threshold): one click on
the flagged work order starts the linked response for the order's message, on the order's timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from caredesk.compliance.audit import record_audit
from caredesk.emergency.actions import EmergencyPlan, do_start_emergency_response, prepare_emergency
from caredesk.emergency.events import InvitationDue
from caredesk.errors import Conflict, InvalidInput
from caredesk.storage.orm import Conversation, Customer, EmergencyMeeting, Message, TriageResult
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.triage.doc import LabelScore, TriageDoc
from caredesk.workorders.actions import append_event, get_work_order

__all__ = ["do_confirm_emergency", "stored_doc"]


def stored_doc(message: Message, triage: TriageResult) -> TriageDoc:
    """The stored triage as the emergency response reads it: masked text, labels, complaint types, hard rules."""
    return TriageDoc(
        text=message.text_masked, masked=message.text_masked, language=triage.language,
        labels={"content_type": LabelScore(triage.content_type, triage.content_type_confidence),
                "problem_type": LabelScore(triage.problem_type, triage.problem_type_confidence),
                "urgency": LabelScore(triage.urgency, triage.urgency_confidence)},
        emotion=LabelScore(triage.emotion, 1.0), complaint_level=triage.complaint_level,
        complaint_types=list(triage.complaint_types or ()),
        hard_rules=list((triage.explanation or {}).get("hard_rules") or ()), model_version=triage.model_version)


def do_confirm_emergency(new_uow: Callable[[], UnitOfWork], plan: EmergencyPlan, order_id: str, *, reason: str,
                         actor: str, now: datetime) -> EmergencyMeeting:
    """Start the linked response for the order's message, once; each person invited gets an `InvitationDue`
    (the join notice's e-mail, after the commit)."""
    if not reason.strip():
        raise InvalidInput("confirming an emergency needs a reason", field="reason")
    with new_uow() as uow:  # a short read: the meeting room may come from another system, asked with no lock held
        order = get_work_order(uow.session, order_id)
        message = uow.session.get(Message, order.message_id)
        if message is None or message.triage is None:
            raise Conflict("this work order has no triaged message to start an emergency from")
        doc = stored_doc(message, message.triage)
    prepared = prepare_emergency(plan, doc)
    with new_uow() as uow:
        s = uow.session
        order = get_work_order(s, order_id, for_update=True)
        if s.scalar(select(EmergencyMeeting.id).where(EmergencyMeeting.message_id == order.message_id)):
            raise Conflict("the emergency response for this work order has already started")
        message = s.get(Message, order.message_id)
        conversation = s.get(Conversation, order.conversation_id)
        customer = s.get(Customer, order.customer_id)
        assert message is not None and conversation is not None and customer is not None
        meeting = do_start_emergency_response(s, plan=plan, prepared=prepared, conversation=conversation,
                                              customer=customer, message=message, doc=doc, now=now)
        if message.triage is not None:
            message.triage.meeting_id = meeting.id
        meeting.work_order_id = order.id  # the flagged order tracks the response to closure
        append_event(s, order, "emergency_started", actor=actor, now=now, data={"meeting_id": meeting.id},
                     note=reason.strip()[:2000])
        record_audit(s, actor=actor, action="emergency.confirmed", object_type="work_order", object_id=order.id,
                     data={"meeting_id": meeting.id, "reason": reason.strip()[:500]}, now=now)
        for participant in meeting.participants:
            uow.record(InvitationDue(participant.id))
        uow.commit()
    return meeting
