"""The incident feedback form after an emergency meeting: the meeting ends and the form opens for the first
recorder; each recorder in the configured order writes their section, may return the form to the one before,
and signs; the last signature locks the form (a version is kept at every signature) and it becomes the event
record. Then the customer response is completed: a bot message in the conversation, and an e-mail to the
customer after the commit when their address is known."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.clock import Clock
from caredesk.compliance.audit import record_audit
from caredesk.emergency.actions import get_meeting
from caredesk.emergency.events import IncidentOutcomeDue
from caredesk.emergency.incident import (
    MAX_SECTION_CHARS,
    Turn,
    check_may_open,
    check_may_write,
    check_return,
    check_sign,
    section_signature,
)
from caredesk.emergency.incident_status import (
    IncidentStatus,
    RecorderStatus,
    check_incident_move,
    check_recorder_move,
)
from caredesk.emergency.meeting_status import MeetingStatus, check_meeting_move
from caredesk.errors import InvalidInput, NotFound
from caredesk.storage.orm import (
    Conversation,
    EmergencyMeeting,
    IncidentEntry,
    IncidentRecord,
    IncidentRecorder,
    IncidentRecordVersion,
    Message,
)
from caredesk.storage.rows import row_by_id
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["CUSTOMER_NOTICE", "IncidentChange", "do_end_meeting", "do_fill_section", "do_return_form",
           "do_sign_section", "get_record", "list_entries", "list_versions", "record_for_meeting",
           "run_incident_action"]

CUSTOMER_NOTICE = {
    "zh": "您好，关于您反映的紧急问题，我行已完成应急处置并形成事件记录。如仍有疑问，请直接回复本会话。",
    "en": "Hello, about the urgent problem you reported: we have completed our emergency response and recorded "
          "the outcome. If anything is still unclear, please reply in this conversation.",
}


@dataclass(frozen=True)
class IncidentChange:
    record: IncidentRecord
    locked: bool = False
    customer_message_id: str | None = None


def get_record(session: Session, record_id: str, *, lock: bool = False) -> IncidentRecord:
    return row_by_id(session, IncidentRecord, record_id, what="incident record", lock=lock)


def record_for_meeting(session: Session, meeting_id: str) -> IncidentRecord:
    record = session.scalar(select(IncidentRecord).where(IncidentRecord.meeting_id == meeting_id))
    if record is None:
        raise NotFound("incident record not found", meeting_id=meeting_id)
    return record


def list_entries(session: Session, record_id: str) -> list[IncidentEntry]:
    return list(session.scalars(select(IncidentEntry).where(IncidentEntry.record_id == record_id)
                                .order_by(IncidentEntry.created_at, IncidentEntry.id)))


def list_versions(session: Session, record_id: str) -> list[IncidentRecordVersion]:
    return list(session.scalars(select(IncidentRecordVersion).where(IncidentRecordVersion.record_id == record_id)
                                .order_by(IncidentRecordVersion.version)))


def _turn(record: IncidentRecord) -> Turn:
    current = next((r for r in record.recorders if r.position == record.current_position), None)
    return Turn(record.status, record.current_position, current.staff_id if current else None)


def _current(record: IncidentRecord) -> IncidentRecorder:
    return next(r for r in record.recorders if r.position == record.current_position)


def do_end_meeting(session: Session, meeting_id: str, *, actor: str, now: datetime) -> IncidentRecord:
    """End the meeting and hand the form to the first recorder."""
    meeting = session.scalar(select(EmergencyMeeting).where(EmergencyMeeting.id == meeting_id).with_for_update())
    if meeting is None:
        raise NotFound("meeting not found", id=meeting_id)
    record = get_record(session, record_for_meeting(session, meeting_id).id, lock=True)
    if meeting.status != MeetingStatus.ENDED:
        meeting.status, meeting.ended_at = check_meeting_move(meeting.status, MeetingStatus.ENDED), now
        record_audit(session, actor=actor, action="emergency.ended", object_type="emergency_meeting",
                     object_id=meeting.id, now=now)
    check_may_open(meeting.status, record.status)
    if not record.recorders:
        raise InvalidInput("this meeting has no recorders for its incident form")
    record.status, record.current_position = check_incident_move(record.status, IncidentStatus.IN_PROGRESS), 0
    first = record.recorders[0]
    first.status = check_recorder_move(first.status, RecorderStatus.ACTIVE)
    record_audit(session, actor=actor, action="incident.opened", object_type="incident_record",
                 object_id=record.id, data={"recorder": record.recorders[0].staff_id}, now=now)
    return record


def do_fill_section(session: Session, record_id: str, content: str, *, staff_id: str | None, now: datetime
                    ) -> IncidentRecord:
    """The current recorder writes (or rewrites) their section; every save is kept as an entry."""
    record = get_record(session, record_id, lock=True)
    check_may_write(_turn(record), staff_id)
    if len(content) > MAX_SECTION_CHARS:
        raise InvalidInput(f"a section holds at most {MAX_SECTION_CHARS} characters", field="content")
    recorder = _current(record)
    session.add(IncidentEntry(record_id=record.id, recorder_id=recorder.id, section=recorder.section, kind="fill",
                              content=content, created_at=now))
    parts = dict(record.form.get("parts") or {})
    parts[recorder.section] = {"content": content, "by": recorder.staff_id, "at": now.isoformat()}
    record.form = {**record.form, "parts": parts}  # a new dict: JSON columns track replacement, not mutation
    record_audit(session, actor=f"staff:{staff_id}", action="incident.filled", object_type="incident_record",
                 object_id=record.id, data={"section": recorder.section, "chars": len(content)}, now=now)
    return record


def do_return_form(session: Session, record_id: str, reason: str, *, staff_id: str | None, now: datetime
                   ) -> IncidentRecord:
    """Send the form back to the previous recorder, whose signature no longer stands."""
    record = get_record(session, record_id, lock=True)
    turn = _turn(record)
    check_may_write(turn, staff_id)
    check_return(turn, reason)
    current = _current(record)
    previous = next(r for r in record.recorders if r.position == record.current_position - 1)
    current.status = check_recorder_move(current.status, RecorderStatus.WAITING)
    previous.status = check_recorder_move(previous.status, RecorderStatus.ACTIVE)
    previous.signed_at, previous.signature = None, None
    record.current_position = previous.position
    session.add(IncidentEntry(record_id=record.id, recorder_id=current.id, section=previous.section, kind="return",
                              content=reason[:MAX_SECTION_CHARS], created_at=now))
    record_audit(session, actor=f"staff:{staff_id}", action="incident.returned", object_type="incident_record",
                 object_id=record.id, data={"to": previous.staff_id, "section": previous.section}, now=now)
    return record


def _snapshot(session: Session, record: IncidentRecord, actor: str, now: datetime) -> int:
    number = (session.scalar(select(func.max(IncidentRecordVersion.version))
                             .where(IncidentRecordVersion.record_id == record.id)) or 0) + 1
    signatures = {r.section: {"staff_id": r.staff_id, "signed_at": r.signed_at.isoformat() if r.signed_at else None,
                              "signature": r.signature} for r in record.recorders if r.status == RecorderStatus.SIGNED}
    session.add(IncidentRecordVersion(record_id=record.id, version=number, created_by=actor, created_at=now,
                                      form={"sections": record.form, "signatures": signatures}))
    record.version = number
    return number


def _inform_customer(session: Session, record: IncidentRecord, now: datetime) -> str:
    meeting = get_meeting(session, record.meeting_id)
    conversation = session.get(Conversation, meeting.conversation_id)
    assert conversation is not None
    language = "en" if conversation.customer.language == "en" else "zh"
    text = CUSTOMER_NOTICE[language]
    message = Message(conversation_id=conversation.id, direction="out", author="bot", text=text, text_masked=text,
                      language=language, created_at=now)
    session.add(message)
    session.flush()
    record.customer_informed_at = now
    return message.id


def do_sign_section(session: Session, record_id: str, *, staff_id: str | None, now: datetime) -> IncidentChange:
    """Sign the current section; the next recorder's turn starts, or (the last signature) the form locks."""
    record = get_record(session, record_id, lock=True)
    check_may_write(_turn(record), staff_id)
    recorder = _current(record)
    content = str((record.form.get("parts") or {}).get(recorder.section, {}).get("content", ""))
    check_sign(content)
    earlier = [r for r in record.recorders if r.position < recorder.position]
    recorder.status, recorder.signed_at = check_recorder_move(recorder.status, RecorderStatus.SIGNED), now
    recorder.signature = section_signature(record_id=record.id, section=recorder.section, content=content,
                                           staff_id=recorder.staff_id, signed_at=now,
                                           previous=earlier[-1].signature if earlier else None)
    actor = f"staff:{staff_id}"
    version = _snapshot(session, record, actor, now)
    following = [r for r in record.recorders if r.position > recorder.position]
    record_audit(session, actor=actor, action="incident.signed", object_type="incident_record",
                 object_id=record.id, data={"section": recorder.section, "version": version}, now=now)
    if following:
        record.current_position = following[0].position
        following[0].status = check_recorder_move(following[0].status, RecorderStatus.ACTIVE)
        return IncidentChange(record)
    record.status, record.locked_at = check_incident_move(record.status, IncidentStatus.LOCKED), now
    message_id = _inform_customer(session, record, now)
    record_audit(session, actor=actor, action="incident.locked", object_type="incident_record",
                 object_id=record.id, data={"version": version, "customer_message_id": message_id}, now=now)
    return IncidentChange(record, locked=True, customer_message_id=message_id)


def run_incident_action(new_uow: Callable[[], UnitOfWork], action: Callable[..., IncidentRecord | IncidentChange],
                        *args: Any, clock: Clock, **kwargs: Any) -> IncidentRecord:
    """One action in its own transaction; when it locked the record, the customer's e-mail is due after the
    commit (`IncidentOutcomeDue`)."""
    with new_uow() as uow:
        result = action(uow.session, *args, now=clock.now(), **kwargs)
        change = result if isinstance(result, IncidentChange) else IncidentChange(result)
        if change.locked:
            uow.record(IncidentOutcomeDue(change.record.id))
        uow.commit()
    return change.record
