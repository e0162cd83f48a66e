"""The conversation watch: after each inbound message, count the escalating ones and raise one alarm, with
its forecast, told to the first level of the alarm strategy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from caredesk.alarms.alarm_status import AlarmStatus
from caredesk.alarms.dispatch import do_notify_level, log_alarm_event, schedule_escalation
from caredesk.alarms.forecast import Point, forecast_external_complaint
from caredesk.alarms.rules import (
    AlarmPolicy,
    CountedMessage,
    EarlierContact,
    counted,
    counted_contacts,
    should_alarm,
)
from caredesk.alarms.strategy import AlarmStrategy
from caredesk.compliance.audit import record_audit
from caredesk.events import EventRecorder, RecordedEvents
from caredesk.storage.orm import Alarm, Conversation, Message, TriageResult

__all__ = ["do_watch_conversation", "earlier_contacts", "list_alarms"]


def _since_last_alarm(session: Session, conversation_id: str, dedupe: str) -> tuple[bool, datetime | None]:
    """(an alarm blocks a new one, count only messages after this time). While-open de-duplication starts
    counting afresh after the last resolved alarm, so one more threat does not re-raise it at once."""
    alarms = session.execute(select(Alarm.status, Alarm.resolved_at).where(Alarm.conversation_id == conversation_id)
                             ).all()
    if dedupe == "per_conversation":
        return bool(alarms), None
    if any(status != AlarmStatus.RESOLVED for status, _ in alarms):
        return True, None
    resolved = [at for _, at in alarms if at is not None]
    return False, max(resolved) if resolved else None


def earlier_contacts(session: Session, conversation: Conversation, policy: AlarmPolicy, now: datetime
                     ) -> list[EarlierContact]:
    """The customer's other conversations that began before this one and have a triaged message within the
    policy's contact window: each with its channel, highest complaint level, latest message and topics."""
    if policy.contacts_within is None:
        return []
    began_before = or_(Conversation.created_at < conversation.created_at,
                       and_(Conversation.created_at == conversation.created_at, Conversation.id < conversation.id))
    rows = session.execute(select(Conversation.id, Conversation.channel, TriageResult.complaint_level,
                                  Message.created_at, TriageResult.content_type)
                           .join(Message, Message.conversation_id == Conversation.id)
                           .join(TriageResult, TriageResult.message_id == Message.id)
                           .where(Conversation.customer_id == conversation.customer_id,
                                  Conversation.id != conversation.id, began_before,
                                  Message.created_at >= now - policy.contacts_within)).all()
    found: dict[str, EarlierContact] = {}
    for conversation_id, channel, level, at, topic in rows:
        seen = found.get(conversation_id)
        found[conversation_id] = EarlierContact(
            conversation_id, channel, max(level or 0, seen.level if seen else 0), max(at, seen.at) if seen else at,
            (seen.topics if seen else frozenset()) | {topic})
    return sorted(found.values(), key=lambda c: (c.at, c.conversation_id))


def do_watch_conversation(session: Session, conversation: Conversation, policy: AlarmPolicy, *, now: datetime,
                          strategy: AlarmStrategy | None = None, events: EventRecorder | None = None) -> Alarm | None:
    """Call with the conversation row locked (the intake action holds it FOR UPDATE), so two messages
    arriving together cannot both raise the alarm. Without a strategy the alarm is raised and told nobody."""
    rows = session.execute(select(Message.id, TriageResult.complaint_level, TriageResult.complaint_types,
                                  Message.created_at, TriageResult.emotion, TriageResult.content_type)
                           .join(TriageResult, TriageResult.message_id == Message.id)
                           .where(Message.conversation_id == conversation.id)
                           .order_by(Message.created_at, Message.id)).all()
    messages = [CountedMessage(r[0], r[1], r[3]) for r in rows]
    topics = frozenset(r[5] for r in rows)
    contacts = earlier_contacts(session, conversation, policy, now)
    conversation.counted_complaints = len(counted(messages, policy, now)) + len(
        counted_contacts(contacts, policy, now, topics=topics))
    blocked, since = _since_last_alarm(session, conversation.id, strategy.dedupe if strategy else "while_open")
    fresh = [m for m in messages if since is None or m.at > since]
    fresh_contacts = [c for c in contacts if since is None or c.at > since]
    if not should_alarm(fresh, policy, now=now, open_alarm=blocked, contacts=fresh_contacts, topics=topics):
        return None
    hits = counted(fresh, policy, now)
    seen = counted_contacts(fresh_contacts, policy, now, topics=topics)
    hit_ids = {m.message_id for m in hits}
    types = sorted({t for r in rows if r[0] in hit_ids for t in (r[2] or [])})
    forecast = forecast_external_complaint([Point(r[1], r[4], tuple(r[2] or ())) for r in rows
                                            if since is None or r[3] > since])
    alarm = Alarm(conversation_id=conversation.id, status=AlarmStatus.OPEN,
                  level=max([m.level for m in hits] + [c.level for c in seen]),
                  count=len(hits) + len(seen), threshold=policy.threshold, message_ids=[m.message_id for m in hits],
                  created_at=now, escalation_level=0, forecast_probability=round(forecast.probability, 4),
                  forecast=forecast.to_json(),
                  details={"customer_ref": conversation.customer.ref, "channel": conversation.channel,
                           "agent_id": conversation.assigned_staff_id, "types": types,
                           "levels": [m.level for m in hits], "strategy": strategy.name if strategy else None,
                           "earlier_contacts": [{"conversation_id": c.conversation_id, "channel": c.channel,
                                                 "level": c.level, "at": c.at.isoformat()} for c in seen]})
    session.add(alarm)
    session.flush()
    log_alarm_event(session, alarm, "raised", actor="system", now=now,
                    data={"count": alarm.count, "earlier_contacts": len(seen), "types": types,
                          "probability": alarm.forecast_probability})
    record_audit(session, actor="system", action="alarm.raised", object_type="alarm", object_id=alarm.id,
                 data={"conversation_id": conversation.id, "count": alarm.count}, now=now)
    if strategy is not None:
        box = events if events is not None else RecordedEvents()
        do_notify_level(session, alarm, conversation, strategy, 0, box, now=now,
                        link=f"/workbench/conversations/{conversation.id}")
        schedule_escalation(alarm, strategy, box, now=now)
    return alarm


def list_alarms(session: Session, conversation_id: str | None = None, limit: int = 100,
                scope: ColumnElement[bool] | None = None) -> list[Alarm]:
    """Newest first; `scope` is the caller's (accounts/access.py `alarm_filter`)."""
    stmt = select(Alarm).order_by(Alarm.created_at.desc()).limit(limit)
    if scope is not None:
        stmt = stmt.where(scope)
    if conversation_id:
        stmt = stmt.where(Alarm.conversation_id == conversation_id)
    return list(session.scalars(stmt))
