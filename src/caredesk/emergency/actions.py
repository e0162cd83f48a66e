"""The linked emergency response (seed method step 2): gather context, pick the related staff, create the
meeting, notify each person (in-app now, e-mail with .ics after commit), record joins."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.alarms.alarm_status import AlarmStatus
from caredesk.compliance.audit import record_audit
from caredesk.emergency.incident_status import IncidentStatus, RecorderStatus
from caredesk.emergency.meeting_status import MeetingStatus, check_meeting_move
from caredesk.emergency.meetings import MeetingProvider, Room
from caredesk.emergency.monitoring import BuiltinMonitoring, MonitoringSource
from caredesk.emergency.notice_status import NoticeStatus
from caredesk.emergency.roster import RosterLine, StaffCard, response_roster, select_related_staff
from caredesk.emergency.topics import Topic, topic_of
from caredesk.errors import NotFound
from caredesk.ids import new_id
from caredesk.storage.orm import (
    Alarm,
    Conversation,
    Customer,
    EmergencyMeeting,
    IncidentRecord,
    IncidentRecorder,
    MeetingParticipant,
    Message,
    Notification,
    OnCallEntry,
    Staff,
    WorkOrder,
)
from caredesk.triage.doc import TriageDoc

__all__ = ["EmergencyPlan", "EmergencyPreparation", "do_record_join", "do_start_emergency_response", "gather_context",
           "get_meeting", "prepare_emergency"]

RECORDER_SECTIONS = ("timeline", "cause_and_actions", "review_and_sign_off")


@dataclass(frozen=True)
class EmergencyPlan:
    provider: MeetingProvider
    duration_minutes: int
    base_url: str
    sections: tuple[str, ...] = RECORDER_SECTIONS  # the incident form's sections, in recorder order
    monitoring: MonitoringSource = field(default_factory=BuiltinMonitoring)
    topics: tuple[Topic, ...] = ()  # problem topics with a roster of their own (emergency/topics.yaml)


@dataclass(frozen=True)
class EmergencyPreparation:
    """What the outside world gives an emergency response: the meeting room (a provider's webhook may be
    asked) and the monitoring snapshot (an HTTP source may be asked). Fetched before the intake transaction
    opens, so that no database lock waits on another system."""

    meeting_id: str
    title: str
    room: Room
    monitoring: dict[str, Any]


def prepare_emergency(plan: EmergencyPlan, doc: TriageDoc) -> EmergencyPreparation:
    content_type = doc.label("content_type").label
    meeting_id = new_id()
    title = f"[{content_type}] {doc.masked[:60]}"
    room = plan.provider.create_room(meeting_id, title)
    monitoring = {"source": plan.monitoring.name, **plan.monitoring.snapshot(content_type=content_type)}
    return EmergencyPreparation(meeting_id, title, room, monitoring)


def gather_context(session: Session, customer: Customer, conversation: Conversation, doc: TriageDoc,
                   monitoring: dict[str, Any]) -> dict[str, Any]:
    """Customer information, recent activity path, fault description and the monitoring snapshot."""
    recent = session.scalars(select(Message).join(Conversation).where(Conversation.customer_id == customer.id)
                             .order_by(Message.created_at.desc()).limit(10))
    orders = session.scalars(select(WorkOrder).where(WorkOrder.customer_id == customer.id)
                             .order_by(WorkOrder.created_at.desc()).limit(5))
    open_alarms = session.scalars(select(Alarm).where(Alarm.status == AlarmStatus.OPEN)
                                  .order_by(Alarm.created_at.desc()).limit(5))
    return {
        "customer": {"ref": customer.ref, "tier": customer.tier, "branch_id": customer.branch_id},
        "activity": [{"at": m.created_at.isoformat(), "author": m.author, "text": m.text_masked} for m in recent],
        "work_orders": [{"id": o.id, "status": o.status, "title": o.title} for o in orders],
        "fault": {"description": doc.masked, "language": doc.language,
                  "labels": {h: s.label for h, s in doc.labels.items()}, "channel": conversation.channel},
        "monitoring": {"open_alarms": [{"id": a.id, "conversation_id": a.conversation_id, "level": a.level}
                                       for a in open_alarms], **monitoring},
    }


def _roster_lines(session: Session, roster: str) -> list[RosterLine]:
    return [RosterLine(e.content_type, e.branch_id, e.staff_id, e.position, e.starts_at, e.ends_at)
            for e in session.scalars(select(OnCallEntry).where(OnCallEntry.content_type == roster))]


def do_start_emergency_response(session: Session, *, plan: EmergencyPlan, prepared: EmergencyPreparation,
                                 conversation: Conversation, customer: Customer, message: Message,
                                 doc: TriageDoc, now: datetime) -> EmergencyMeeting:
    content_type = doc.label("content_type").label
    topic = topic_of(doc.masked, doc.hard_rules, plan.topics)
    roster = response_roster(content_type, doc.complaint_types, doc.hard_rules, topic)
    lines = _roster_lines(session, roster)
    if not lines and roster != content_type:  # no such roster configured: the content type's answers
        roster, lines = content_type, _roster_lines(session, content_type)
    staff_rows = {s.id: s for s in session.scalars(select(Staff))}
    cards = {s.id: StaffCard(s.id, s.manager_id, s.active, s.away) for s in staff_rows.values()}
    invitees = select_related_staff(lines, cards, content_type=roster, branch_id=customer.branch_id, now=now)

    title, room = prepared.title, prepared.room
    meeting = EmergencyMeeting(id=prepared.meeting_id, conversation_id=conversation.id, message_id=message.id,
                               title=title, provider=room.provider, room_url=room.url,
                               status=MeetingStatus.SCHEDULED, starts_at=now,
                               ends_at=now + timedelta(minutes=plan.duration_minutes), created_at=now,
                               context=gather_context(session, customer, conversation, doc, prepared.monitoring))
    session.add(meeting)
    session.flush()
    for position, invitee in enumerate(invitees):
        participant = MeetingParticipant(meeting_id=meeting.id, staff_id=invitee.staff_id, position=position,
                                         reason=invitee.reason, join_token=secrets.token_urlsafe(24),
                                         email_status=NoticeStatus.PENDING, inapp_status=NoticeStatus.SENT)
        session.add(participant)
        session.add(Notification(staff_id=invitee.staff_id, kind="emergency_meeting", title=title,
                                 body=doc.masked[:500], link=f"/join/{participant.join_token}", created_at=now))
    record = IncidentRecord(meeting_id=meeting.id, status=IncidentStatus.PENDING,
                            form={"title": title, "sections": list(plan.sections), "parts": {}},
                            created_at=now)
    session.add(record)
    session.flush()
    for position, invitee in enumerate(invitees[: len(plan.sections)]):
        session.add(IncidentRecorder(record_id=record.id, position=position, staff_id=invitee.staff_id,
                                     section=plan.sections[position], status=RecorderStatus.WAITING))
    record_audit(session, actor="system", action="emergency.started", object_type="emergency_meeting",
                 object_id=meeting.id, data={"participants": [i.staff_id for i in invitees],
                                             "content_type": content_type, "topic": topic, "roster": roster},
                 now=now)
    session.flush()
    return meeting


def get_meeting(session: Session, meeting_id: str) -> EmergencyMeeting:
    meeting = session.get(EmergencyMeeting, meeting_id)
    if meeting is None:
        raise NotFound("meeting not found", id=meeting_id)
    return meeting


def do_record_join(session: Session, token: str, *, now: datetime) -> EmergencyMeeting:
    participant = session.scalar(select(MeetingParticipant).where(MeetingParticipant.join_token == token)
                                 .with_for_update())
    if participant is None:
        raise NotFound("join link not found")
    meeting = get_meeting(session, participant.meeting_id)
    if participant.joined_at is None:
        participant.joined_at = now
        if meeting.status == MeetingStatus.SCHEDULED:
            meeting.status = check_meeting_move(meeting.status, MeetingStatus.ACTIVE)
        record_audit(session, actor=participant.staff_id, action="emergency.joined",
                     object_type="emergency_meeting", object_id=meeting.id, now=now)
    return meeting
