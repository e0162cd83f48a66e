"""Background e-mail of the emergency response: join notices (a participant id) and the outcome to the customer
(a locked incident record id); idempotent, retried by the queue on failure. Each is claimed, sent with no
transaction open, and recorded (tasks/notice.py), so a send is never lost with a failed commit."""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from caredesk.clock import Clock
from caredesk.compliance.audit import record_audit
from caredesk.emergency.incident_actions import CUSTOMER_NOTICE
from caredesk.emergency.incident_status import IncidentStatus
from caredesk.emergency.invitation import MeetingInvite, build_invitation_email
from caredesk.emergency.notice_status import NoticeStatus, check_notice_move
from caredesk.notify.email import SmtpSender, tag_notice
from caredesk.settings import Settings
from caredesk.storage.orm import (
    Conversation,
    EmergencyMeeting,
    IncidentRecord,
    MeetingParticipant,
    Staff,
)
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.tasks.context import task_context
from caredesk.tasks.notice import Claimed, Skip, claim_is_live, deliver_notice

__all__ = ["email_incident_outcome", "send_meeting_notice"]

log = logging.getLogger(__name__)


class EmergencyTaskDeps(Protocol):
    settings: Settings
    clock: Clock
    mailer: SmtpSender
    session_factory: sessionmaker[Session]

    def uow(self) -> UnitOfWork: ...


def send_meeting_notice(participant_id: str, outbox_id: int | None = None) -> str:
    """E-mail one join notice: claimed, sent, recorded (tasks/notice.py). 'sent', 'skipped' (sent already,
    or unknown) or 'claimed' (another worker holds it). `outbox_id`: the event's row, done with the notice."""
    rt: EmergencyTaskDeps = task_context()

    def claim(s: Session, now: datetime) -> Claimed[EmailMessage] | Skip:
        participant = s.scalar(select(MeetingParticipant).where(MeetingParticipant.id == participant_id)
                               .with_for_update().execution_options(populate_existing=True))
        if participant is None or participant.email_status == NoticeStatus.SENT:
            return Skip("skipped")
        if claim_is_live(participant.email_claimed_until, now):
            return Skip("claimed", done=False)
        meeting = s.get(EmergencyMeeting, participant.meeting_id)
        staff = s.get(Staff, participant.staff_id)
        assert meeting is not None and staff is not None
        participant.email_status = check_notice_move(participant.email_status, NoticeStatus.SENDING)
        participant.email_claimed_until = now + rt.settings.notice_claim
        participant.email_attempts += 1
        invite = MeetingInvite(meeting_id=meeting.id, title=meeting.title,
                               summary=str(meeting.context.get("fault", {}).get("description", "")),
                               starts_at=meeting.starts_at, ends_at=meeting.ends_at, room_url=meeting.room_url,
                               join_url=f"{rt.settings.base_url}/join/{participant.join_token}",
                               organizer_email=rt.mailer.sender_address, invitee_name=staff.display_name,
                               invitee_email=staff.email, now=now)
        return Claimed(tag_notice(build_invitation_email(invite, rt.settings.mail_from), "meeting_participant",
                                  participant_id))

    def _locked(s: Session) -> MeetingParticipant:
        participant = s.get(MeetingParticipant, participant_id, with_for_update=True)
        assert participant is not None  # claimed: participants are never deleted
        return participant

    def record_sent(s: Session, now: datetime) -> str:
        participant = _locked(s)
        if participant.email_status != NoticeStatus.SENT:  # else a worker that took a lapsed claim recorded it
            participant.email_status = check_notice_move(participant.email_status, NoticeStatus.SENT)
            participant.email_sent_at, participant.email_error = now, None
        participant.email_claimed_until = None
        return "sent"

    def record_failed(s: Session, exc: OSError, now: datetime) -> None:
        participant = _locked(s)
        if participant.email_status == NoticeStatus.SENDING:
            participant.email_status = check_notice_move(participant.email_status, NoticeStatus.FAILED)
        if participant.email_status != NoticeStatus.SENT:
            participant.email_error, participant.email_claimed_until = str(exc)[:500], None
        log.warning("join notice for participant %s failed (attempt %d): %s", participant_id,
                    participant.email_attempts, type(exc).__name__)

    return deliver_notice(rt.uow, rt.clock, outbox_id, task_lease=rt.settings.outbox_task_lease,
                          claim=claim, send=rt.mailer.send,
                          record_sent=record_sent, record_failed=record_failed)


def email_incident_outcome(record_id: str, outbox_id: int | None = None) -> str:
    """After the event record is locked: tell the customer by e-mail too, when their address is known.
    Claimed, sent, recorded (tasks/notice.py); `customer_emailed_at` and an audit entry mark it done."""
    rt: EmergencyTaskDeps = task_context()

    def claim(s: Session, now: datetime) -> Claimed[EmailMessage] | Skip:
        record = s.scalar(select(IncidentRecord).where(IncidentRecord.id == record_id).with_for_update()
                          .execution_options(populate_existing=True))
        if record is None or record.status != IncidentStatus.LOCKED or record.customer_emailed_at is not None:
            return Skip("skipped")
        if claim_is_live(record.customer_email_claimed_until, now):
            return Skip("claimed", done=False)
        meeting = s.get(EmergencyMeeting, record.meeting_id)
        conversation = s.get(Conversation, meeting.conversation_id) if meeting else None
        customer = conversation.customer if conversation else None
        if customer is None or not customer.email:
            return Skip("skipped")
        record.customer_email_claimed_until = now + rt.settings.notice_claim
        record.customer_email_attempts += 1
        language = "en" if customer.language == "en" else "zh"
        msg = EmailMessage()
        msg["Subject"] = "[示范银行 / Demo Bank] 处理结果 / Outcome of your report"
        msg["From"] = rt.settings.mail_from
        msg["To"] = customer.email
        msg["X-CareDesk-Incident"] = record_id
        msg.set_content(CUSTOMER_NOTICE[language])
        return Claimed(msg)

    def record_sent(s: Session, now: datetime) -> str:
        record = s.get(IncidentRecord, record_id, with_for_update=True)
        assert record is not None
        if record.customer_emailed_at is None:
            record.customer_emailed_at = now
            record_audit(s, actor="system", action="incident.customer_emailed", object_type="incident_record",
                         object_id=record_id, now=now)
        record.customer_email_claimed_until = None
        return "sent"

    def record_failed(s: Session, exc: OSError, now: datetime) -> None:
        s.execute(update(IncidentRecord).where(IncidentRecord.id == record_id)
                  .values(customer_email_claimed_until=None).execution_options(synchronize_session=False))
        log.warning("outcome e-mail of incident record %s failed: %s", record_id, type(exc).__name__)

    return deliver_notice(rt.uow, rt.clock, outbox_id, task_lease=rt.settings.outbox_task_lease,
                          claim=claim, send=rt.mailer.send,
                          record_sent=record_sent, record_failed=record_failed)
