"""Background e-mail of the emergency response: join notices (a participant id) and the outcome to the customer
(a locked incident record id); idempotent, retried by the queue on failure."""

from __future__ import annotations

import logging
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
    AuditEntry,
    Conversation,
    EmergencyMeeting,
    IncidentRecord,
    MeetingParticipant,
    Staff,
)
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.tasks.context import task_context

__all__ = ["email_incident_outcome", "send_meeting_notice"]

log = logging.getLogger(__name__)


class EmergencyTaskDeps(Protocol):
    settings: Settings
    clock: Clock
    mailer: SmtpSender
    session_factory: sessionmaker[Session]

    def uow(self) -> UnitOfWork: ...


def send_meeting_notice(participant_id: str) -> str:
    rt: EmergencyTaskDeps = task_context()
    with UnitOfWork(rt.session_factory) as uow:
        # Claim the notice with a write before reading it: the UPDATE takes the row lock on PostgreSQL and
        # the database write lock on SQLite (where SELECT ... FOR UPDATE is a no-op), so a second worker
        # running the same notice waits here until the first commits, then finds it sent and skips it.
        claimed = uow.session.execute(
            update(MeetingParticipant)
            .where(MeetingParticipant.id == participant_id, MeetingParticipant.email_status != NoticeStatus.SENT)
            .values(email_attempts=MeetingParticipant.email_attempts + 1)
            .execution_options(synchronize_session=False))
        if claimed.rowcount == 0:  # type: ignore[attr-defined]
            return "skipped"
        participant = uow.session.get(MeetingParticipant, participant_id)
        assert participant is not None
        meeting = uow.session.get(EmergencyMeeting, participant.meeting_id)
        staff = uow.session.get(Staff, participant.staff_id)
        assert meeting is not None and staff is not None
        now = rt.clock.now()
        invite = MeetingInvite(meeting_id=meeting.id, title=meeting.title,
                               summary=str(meeting.context.get("fault", {}).get("description", "")),
                               starts_at=meeting.starts_at, ends_at=meeting.ends_at, room_url=meeting.room_url,
                               join_url=f"{rt.settings.base_url}/join/{participant.join_token}",
                               organizer_email=rt.mailer.sender_address, invitee_name=staff.display_name,
                               invitee_email=staff.email, now=now)
        try:
            rt.mailer.send(tag_notice(build_invitation_email(invite, rt.settings.mail_from), "meeting_participant",
                                      participant.id))
        except OSError as exc:
            participant.email_status = check_notice_move(participant.email_status, NoticeStatus.FAILED)
            participant.email_error = str(exc)[:500]
            uow.commit()
            log.warning("join notice for participant %s failed (attempt %d): %s", participant.id,
                        participant.email_attempts, exc)
            raise  # the queue retries
        participant.email_status = check_notice_move(participant.email_status, NoticeStatus.SENT)
        participant.email_sent_at, participant.email_error = now, None
        uow.commit()
    return "sent"


def email_incident_outcome(record_id: str) -> str:
    """After the event record is locked: tell the customer by e-mail too, when their address is known.
    Idempotent: the audit entry written with the send marks it done."""
    rt: EmergencyTaskDeps = task_context()
    with rt.uow() as uow:
        s = uow.session
        record = s.get(IncidentRecord, record_id)
        if record is None or record.status != IncidentStatus.LOCKED:
            return "skipped"
        done = s.scalar(select(AuditEntry.id).where(AuditEntry.object_id == record_id,
                                                     AuditEntry.action == "incident.customer_emailed").limit(1))
        meeting = s.get(EmergencyMeeting, record.meeting_id)
        conversation = s.get(Conversation, meeting.conversation_id) if meeting else None
        customer = conversation.customer if conversation else None
        if done is not None or customer is None or not customer.email:
            return "skipped"
        language = "en" if customer.language == "en" else "zh"
        msg = EmailMessage()
        msg["Subject"] = "[示范银行 / Demo Bank] 处理结果 / Outcome of your report"
        msg["From"] = rt.settings.mail_from
        msg["To"] = customer.email
        msg["X-CareDesk-Incident"] = record_id
        msg.set_content(CUSTOMER_NOTICE[language])
        rt.mailer.send(msg)  # an OSError leaves no mark: the queue retries
        record_audit(s, actor="system", action="incident.customer_emailed", object_type="incident_record",
                     object_id=record_id, now=rt.clock.now())
        uow.commit()
    return "sent"
