"""The conversation watch: after each inbound message, count the escalating ones and raise one alarm."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.compliance.audit import record_audit
from caredesk.escalation.rules import AlarmPolicy, CountedMessage, counted, should_alarm
from caredesk.storage.orm import Alarm, Conversation, Message, Notification, Staff, TriageResult

__all__ = ["do_watch_conversation", "list_alarms"]

ALARM_ROLES = ("team_lead", "complaint_manager")


def do_watch_conversation(session: Session, conversation: Conversation, policy: AlarmPolicy, *, now: datetime
                          ) -> Alarm | None:
    """Call with the conversation row locked (the intake action holds it FOR UPDATE), so two messages
    arriving together cannot both raise the alarm."""
    rows = session.execute(select(Message.id, TriageResult.complaint_level, TriageResult.complaint_types,
                                  Message.created_at).join(TriageResult, TriageResult.message_id == Message.id)
                           .where(Message.conversation_id == conversation.id)).all()
    messages = [CountedMessage(r[0], r[1], r[3]) for r in rows]
    hits = counted(messages, policy, now)
    conversation.counted_complaints = len(hits)
    open_alarm = session.scalar(select(Alarm.id).where(Alarm.conversation_id == conversation.id,
                                                       Alarm.status != "resolved").limit(1)) is not None
    if not should_alarm(messages, policy, now=now, open_alarm=open_alarm):
        return None
    types = sorted({t for r in rows if r[1] >= policy.level for t in (r[2] or [])})
    alarm = Alarm(conversation_id=conversation.id, level=max(m.level for m in hits), count=len(hits),
                  threshold=policy.threshold, message_ids=[m.message_id for m in hits], created_at=now,
                  details={"customer_ref": conversation.customer.ref, "channel": conversation.channel,
                           "agent_id": conversation.assigned_staff_id, "types": types,
                           "levels": [m.level for m in hits]})
    session.add(alarm)
    session.flush()
    recipients = set(session.scalars(select(Staff.id).where(Staff.role.in_(ALARM_ROLES), Staff.active)))
    if conversation.assigned_staff_id:
        recipients.add(conversation.assigned_staff_id)
    for staff_id in sorted(recipients):
        session.add(Notification(staff_id=staff_id, kind="alarm", title=f"Complaint escalating: {', '.join(types)}",
                                 body=f"{len(hits)} messages at level >= {policy.level}",
                                 link=f"/workbench/conversations/{conversation.id}", created_at=now))
    record_audit(session, actor="system", action="alarm.raised", object_type="alarm", object_id=alarm.id,
                 data={"conversation_id": conversation.id, "count": len(hits)}, now=now)
    return alarm


def list_alarms(session: Session, conversation_id: str | None = None, limit: int = 100) -> list[Alarm]:
    stmt = select(Alarm).order_by(Alarm.created_at.desc()).limit(limit)
    if conversation_id:
        stmt = stmt.where(Alarm.conversation_id == conversation_id)
    return list(session.scalars(stmt))
