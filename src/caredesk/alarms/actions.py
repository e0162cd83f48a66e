"""The conversation watch: after each inbound message, count the escalating ones and raise one alarm, with
its forecast, told to the first level of the alarm strategy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from caredesk.alarms.alarm_status import AlarmStatus
from caredesk.alarms.dispatch import do_notify_level, log_alarm_event, schedule_escalation
from caredesk.alarms.forecast import Point, forecast_external_complaint
from caredesk.alarms.rules import AlarmPolicy, CountedMessage, counted, should_alarm
from caredesk.alarms.strategy import AlarmStrategy
from caredesk.compliance.audit import record_audit
from caredesk.events import EventRecorder, RecordedEvents
from caredesk.storage.orm import Alarm, Conversation, Message, TriageResult

__all__ = ["do_watch_conversation", "list_alarms"]


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


def do_watch_conversation(session: Session, conversation: Conversation, policy: AlarmPolicy, *, now: datetime,
                          strategy: AlarmStrategy | None = None, events: EventRecorder | None = None) -> Alarm | None:
    """Call with the conversation row locked (the intake action holds it FOR UPDATE), so two messages
    arriving together cannot both raise the alarm. Without a strategy the alarm is raised and told nobody."""
    rows = session.execute(select(Message.id, TriageResult.complaint_level, TriageResult.complaint_types,
                                  Message.created_at, TriageResult.emotion)
                           .join(TriageResult, TriageResult.message_id == Message.id)
                           .where(Message.conversation_id == conversation.id)
                           .order_by(Message.created_at, Message.id)).all()
    messages = [CountedMessage(r[0], r[1], r[3]) for r in rows]
    conversation.counted_complaints = len(counted(messages, policy, now))
    blocked, since = _since_last_alarm(session, conversation.id, strategy.dedupe if strategy else "while_open")
    fresh = [m for m in messages if since is None or m.at > since]
    if not should_alarm(fresh, policy, now=now, open_alarm=blocked):
        return None
    hits = counted(fresh, policy, now)
    hit_ids = {m.message_id for m in hits}
    types = sorted({t for r in rows if r[0] in hit_ids for t in (r[2] or [])})
    forecast = forecast_external_complaint([Point(r[1], r[4], tuple(r[2] or ())) for r in rows
                                            if since is None or r[3] > since])
    alarm = Alarm(conversation_id=conversation.id, status=AlarmStatus.OPEN, level=max(m.level for m in hits),
                  count=len(hits), threshold=policy.threshold, message_ids=[m.message_id for m in hits], created_at=now,
                  escalation_level=0, forecast_probability=round(forecast.probability, 4),
                  forecast=forecast.to_json(),
                  details={"customer_ref": conversation.customer.ref, "channel": conversation.channel,
                           "agent_id": conversation.assigned_staff_id, "types": types,
                           "levels": [m.level for m in hits], "strategy": strategy.name if strategy else None})
    session.add(alarm)
    session.flush()
    log_alarm_event(session, alarm, "raised", actor="system", now=now,
                    data={"count": len(hits), "types": types, "probability": alarm.forecast_probability})
    record_audit(session, actor="system", action="alarm.raised", object_type="alarm", object_id=alarm.id,
                 data={"conversation_id": conversation.id, "count": len(hits)}, now=now)
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
