"""The incident feedback form's rules: whose turn it is, what a recorder may do, and the signature over a
section. Pure: statuses and ids in, a decision or a domain error out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from caredesk.emergency.incident_status import IncidentStatus
from caredesk.emergency.meeting_status import MeetingStatus
from caredesk.errors import Conflict, Forbidden, InvalidInput

__all__ = ["MAX_SECTION_CHARS", "Turn", "check_may_open", "check_may_write", "check_return", "check_sign",
           "section_signature"]

MAX_SECTION_CHARS = 20_000


@dataclass(frozen=True)
class Turn:
    record_status: str  # an IncidentStatus, as stored
    current_position: int
    current_staff_id: str | None  # the recorder whose turn it is


def check_may_open(meeting_status: str, record_status: str) -> None:
    if record_status != IncidentStatus.PENDING:
        raise Conflict("the incident form is already open", status=record_status)
    if meeting_status == MeetingStatus.ENDED:
        return
    raise Conflict("the form opens when the meeting has ended", meeting_status=meeting_status)


def check_may_write(turn: Turn, staff_id: str | None) -> None:
    """Locked forms refuse every change (409); otherwise only the recorder whose turn it is may act (403)."""
    if turn.record_status == IncidentStatus.LOCKED:
        raise Conflict("the incident record is locked; it cannot be changed", status=IncidentStatus.LOCKED.value)
    if turn.record_status != IncidentStatus.IN_PROGRESS:
        raise Conflict("the incident form is not open yet; end the meeting first", status=turn.record_status)
    if staff_id is None or staff_id != turn.current_staff_id:
        raise Forbidden("it is not your turn on this incident form")


def check_sign(content: str | None) -> None:
    if not content or not content.strip():
        raise InvalidInput("write your section before signing it", field="content")


def check_return(turn: Turn, reason: str) -> None:
    if turn.current_position == 0:
        raise Conflict("the first recorder has nobody to return the form to")
    if not reason.strip():
        raise InvalidInput("say why the form goes back", field="reason")


def section_signature(*, record_id: str, section: str, content: str, staff_id: str, signed_at: datetime,
                      previous: str | None) -> str:
    """SHA-256 over the section as signed, chained to the previous signature: a later change to an earlier
    section no longer matches its signature."""
    payload = "\x1f".join([record_id, section, content, staff_id, signed_at.isoformat(), previous or ""])
    return hashlib.sha256(payload.encode()).hexdigest()
