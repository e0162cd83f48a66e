"""The join notice: iCalendar fields and the parts of the e-mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import default
from email.utils import getaddresses

from icalendar import Calendar

from caredesk.clock import FrozenClock
from caredesk.emergency.invitation import MeetingInvite, build_ics, build_invitation_email

CLOCK = FrozenClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
JOIN = "https://caredesk.demo-bank.example/join/tok_Abc-123"


def invite(**changes: object) -> MeetingInvite:
    values: dict[str, object] = dict(
        meeting_id="01HMEETING", title="[business] 我的银行卡刚刚被盗刷了两万元",
        summary="客户称银行卡被盗刷，请求立即冻结",
        starts_at=CLOCK.now(), ends_at=CLOCK.now() + timedelta(hours=1),
        room_url="https://meet.jit.si/caredesk-01HMEETING", join_url=JOIN,
        organizer_email="caredesk@demo-bank.example", invitee_name="陈静",
        invitee_email="chen.jing@demo-bank.example", now=CLOCK.now() - timedelta(seconds=5))
    values.update(changes)
    return MeetingInvite(**values)  # type: ignore[arg-type]


def test_invitation_ics_is_a_request_with_the_meeting_fields() -> None:
    cal = Calendar.from_ical(build_ics(invite()))
    assert str(cal["method"]) == "REQUEST"
    assert str(cal["version"]) == "2.0"
    assert "CareDesk" in str(cal["prodid"])
    (event,) = cal.walk("VEVENT")
    assert str(event["uid"]) == "01HMEETING@caredesk"
    assert event.decoded("dtstart") == CLOCK.now()
    assert event.decoded("dtend") == CLOCK.now() + timedelta(hours=1)
    assert event.decoded("dtstamp") == CLOCK.now() - timedelta(seconds=5)
    assert str(event["summary"]) == "[business] 我的银行卡刚刚被盗刷了两万元"
    assert str(event["location"]) == JOIN and str(event["url"]) == JOIN
    assert "客户称银行卡被盗刷" in str(event["description"]) and JOIN in str(event["description"])
    assert str(event["organizer"]) == "mailto:caredesk@demo-bank.example"


def test_invitation_ics_attendee_is_the_invitee_asked_to_reply() -> None:
    (event,) = Calendar.from_ical(build_ics(invite())).walk("VEVENT")
    attendee = event["attendee"]
    assert not isinstance(attendee, list)
    assert str(attendee) == "mailto:chen.jing@demo-bank.example"
    assert attendee.params["CN"] == "陈静"
    assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
    assert attendee.params["RSVP"] == "TRUE"


def test_invitation_ics_times_are_utc() -> None:
    raw = build_ics(invite()).decode()
    assert "DTSTART:20260302T093000Z" in raw
    assert "DTEND:20260302T103000Z" in raw


def test_invitation_email_has_text_html_and_calendar_parts() -> None:
    msg = build_invitation_email(invite(), "CareDesk <caredesk@demo-bank.example>")
    parsed = message_from_bytes(msg.as_bytes(), policy=default)  # what a mail client receives
    assert parsed.get_content_type() == "multipart/mixed"
    kinds = [p.get_content_type() for p in parsed.walk()]
    assert kinds == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/calendar"]
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    assert JOIN in text.get_content() and "2026-03-02 09:30 UTC" in text.get_content()
    assert "陈静" in text.get_content()
    assert f'href="{JOIN}"' in html.get_content()
    (calendar,) = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    assert calendar.get_param("method") == "REQUEST"
    assert calendar.get_filename() == "invite.ics"
    assert str(Calendar.from_ical(calendar.get_content())["method"]) == "REQUEST"


def test_invitation_email_headers_address_the_invitee() -> None:
    msg = build_invitation_email(invite(), "CareDesk <caredesk@demo-bank.example>")
    parsed = message_from_bytes(msg.as_bytes())
    ((name, address),) = getaddresses(parsed.get_all("To"))
    assert address == "chen.jing@demo-bank.example"
    assert str(make_header(decode_header(name))) == "陈静"
    assert parsed["From"] == "CareDesk <caredesk@demo-bank.example>"
    assert parsed["X-CareDesk-Meeting"] == "01HMEETING"
    subject = str(make_header(decode_header(parsed["Subject"])))
    assert "Emergency" in subject and "紧急" in subject and "我的银行卡刚刚被盗刷了两万元" in subject


def test_invitation_email_each_invitee_gets_their_own_link() -> None:
    other = invite(invitee_name="Tom Walker", invitee_email="tom.walker@demo-bank.example",
                   join_url="https://caredesk.demo-bank.example/join/other")
    raw = build_invitation_email(other, "CareDesk <x@y.example>").as_bytes()
    msg = message_from_bytes(raw, policy=default)
    body = msg.get_body(("plain",))
    assert body is not None
    assert "/join/other" in body.get_content() and JOIN not in body.get_content()
    (event,) = Calendar.from_ical(build_ics(other)).walk("VEVENT")
    assert str(event["attendee"]) == "mailto:tom.walker@demo-bank.example"
