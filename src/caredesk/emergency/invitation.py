"""The join notice: a plain-text and HTML e-mail with the personal join link and an iCalendar invitation."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import cast

from icalendar import Calendar, Event, vCalAddress, vText

__all__ = ["MeetingInvite", "build_ics", "build_invitation_email"]


from dataclasses import dataclass


@dataclass(frozen=True)
class MeetingInvite:
    meeting_id: str
    title: str
    summary: str
    starts_at: datetime
    ends_at: datetime
    room_url: str
    join_url: str
    organizer_email: str
    invitee_name: str
    invitee_email: str
    now: datetime


def build_ics(invite: MeetingInvite) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//CareDesk//Emergency response//EN")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = Event()
    event.add("uid", f"{invite.meeting_id}@caredesk")
    event.add("dtstamp", invite.now)
    event.add("dtstart", invite.starts_at)
    event.add("dtend", invite.ends_at)
    event.add("summary", invite.title)
    event.add("description", f"{invite.summary}\n\nJoin: {invite.join_url}")
    event.add("location", invite.join_url)
    event.add("url", invite.join_url)
    organizer = vCalAddress(f"mailto:{invite.organizer_email}")
    organizer.params["cn"] = vText("CareDesk")
    event["organizer"] = organizer
    attendee = vCalAddress(f"mailto:{invite.invitee_email}")
    attendee.params["cn"] = vText(invite.invitee_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["rsvp"] = vText("TRUE")
    event.add("attendee", attendee, encode=False)
    event.add("priority", 1)
    cal.add_component(event)
    return cast(bytes, cal.to_ical())  # to_ical() is unannotated in icalendar


def build_invitation_email(invite: MeetingInvite, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"[CareDesk 紧急 / Emergency] {invite.title}"
    msg["From"] = sender
    msg["To"] = f"{invite.invitee_name} <{invite.invitee_email}>"
    msg["X-CareDesk-Meeting"] = invite.meeting_id
    text = (f"{invite.invitee_name}，您好 / Hello {invite.invitee_name},\n\n"
            f"您被邀请参加紧急会议 / You are called to an emergency meeting:\n{invite.title}\n\n"
            f"{invite.summary}\n\n"
            f"加入会议 / Join: {invite.join_url}\n"
            f"开始 / Starts: {invite.starts_at:%Y-%m-%d %H:%M} UTC\n")
    msg.set_content(text)
    msg.add_alternative(
        f"<p>{invite.invitee_name}，您好 / Hello {invite.invitee_name},</p>"
        f"<p>紧急会议 / Emergency meeting: <strong>{invite.title}</strong></p><p>{invite.summary}</p>"
        f'<p><a href="{invite.join_url}">加入会议 / Join the meeting</a></p>', subtype="html")
    msg.add_attachment(build_ics(invite), maintype="text", subtype="calendar", filename="invite.ics",
                       params={"method": "REQUEST"})
    return msg
