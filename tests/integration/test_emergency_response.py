"""The linked emergency response for real: an urgent message gathers the on-call roster from the demo bank,
every participant gets one e-mail through a real SMTP server with a personal join link and an iCalendar
invitation, in-app notices and the incident record exist, joins are recorded once, and failed deliveries
are retried by re-running the idempotent task."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import Message as EmailMsg
from email.utils import getaddresses
from importlib import resources
from typing import Any

import pytest
import yaml
from icalendar import Calendar
from sqlalchemy import func, select

from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.emergency.actions import RECORDER_SECTIONS
from caredesk.emergency.tasks import send_meeting_notice
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.storage.orm import (
    AuditEntry,
    EmergencyMeeting,
    IncidentRecord,
    MeetingParticipant,
    Notification,
    Staff,
)
from tests.conftest import Mailbox

ZH_URGENT = "我的银行卡刚刚被盗刷了两万元，不是我本人操作，请立即冻结！"
EN_URGENT = "Your online banking system is down, all payments are failing for our whole company"
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
_POSITIONS = {"primary": 0, "backup": 1, "manager": 2}


def demo_org() -> dict[str, Any]:
    text = resources.files("caredesk.demo").joinpath("bank.yaml").read_text("utf-8")
    return dict(yaml.safe_load(text))


def expected_invitees(content_type: str, branch: str | None = None, topic: str | None = None) -> list[str]:
    """From the demo bank.yaml: the roster lines for the topic when given (card fraud), else the content type
    (branch lines first), primary, backup, manager, then each primary's own manager; nobody twice."""
    org = demo_org()
    manager_of = {p["username"]: p.get("manager") for p in org["staff"]}
    key, value = ("topic", topic) if topic else ("content_type", content_type)
    lines = [line for line in org["oncall"]
             if line.get(key) == value and line.get("branch") in (None, branch)]
    lines.sort(key=lambda line: (line.get("branch") is None, _POSITIONS[line["position"]]))
    chosen: list[str] = []
    for line in lines:
        if line["staff"] not in chosen:
            chosen.append(line["staff"])
    for line in lines:
        boss = manager_of[line["staff"]]
        if line["position"] == "primary" and boss and boss not in chosen:
            chosen.append(boss)
    return chosen


def receive(rt: Runtime, text: str, ref: str = "cust-urgent") -> IntakeOutcome:
    return do_receive_message(rt, IncomingMessage(text=text, channel="web", customer_ref=ref))


def body_parts(msg: EmailMsg) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for part in msg.walk():
        kind = part.get_content_type()
        if kind in ("text/plain", "text/html"):
            found[kind] = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        elif kind == "text/calendar":
            found.setdefault("calendars", []).append(part.get_payload(decode=True))
    return found


def recipients(msg: EmailMsg) -> list[str]:
    return [addr for _, addr in getaddresses(msg.get_all("To", []))]


def load_meeting(rt: Runtime, meeting_id: str
                 ) -> tuple[EmergencyMeeting, list[tuple[MeetingParticipant, Staff]]]:
    with rt.session_factory() as s:
        meeting = s.get(EmergencyMeeting, meeting_id)
        assert meeting is not None
        people = [(p, s.get(Staff, p.staff_id)) for p in meeting.participants]
        return meeting, people  # type: ignore[return-value]


@pytest.fixture
def frozen(demo_runtime: Runtime) -> Runtime:
    demo_runtime.clock = FrozenClock(T0)
    return demo_runtime


@pytest.mark.parametrize("text", [ZH_URGENT, EN_URGENT], ids=["zh", "en"])
def test_emergency_response_invites_roster_by_email_with_calendar(frozen: Runtime, mailbox: Mailbox,
                                                                   text: str) -> None:
    rt = frozen
    outcome = receive(rt, text)
    assert outcome.decision.kind == "emergency"
    assert outcome.meeting_id is not None
    content_type = outcome.doc.label("content_type").label
    meeting, people = load_meeting(rt, outcome.meeting_id)

    usernames = [staff.username for _, staff in people]
    # the stolen card is the card-fraud topic's (card centre and fraud team); the outage the system roster's
    assert usernames == expected_invitees(content_type, topic="card_fraud" if text == ZH_URGENT else None)
    assert [p.position for p, _ in people] == list(range(len(people)))
    roster_reasons = [p.reason for p, _ in people if p.reason.startswith("roster:")]
    assert roster_reasons[0] == "roster:primary" and {"roster:backup", "roster:manager"} <= set(roster_reasons)
    assert roster_reasons == sorted(roster_reasons, key=lambda r: _POSITIONS[r.removeprefix("roster:")])
    assert meeting.starts_at == T0
    assert meeting.ends_at == T0 + timedelta(minutes=rt.settings.meeting_duration_minutes)

    # Exactly one e-mail per participant, nothing else (immediate mode ran the tasks after the commit).
    messages = mailbox.wait_for(len(people))
    assert len(messages) == len(people)
    by_address = Counter(addr for msg in messages for addr in recipients(msg))
    assert by_address == Counter({staff.email: 1 for _, staff in people})
    mail_for = {recipients(msg)[0]: msg for msg in messages}

    for participant, staff in people:
        msg = mail_for[staff.email]
        assert msg["X-CareDesk-Meeting"] == meeting.id
        assert msg["X-CareDesk-Notice"] == f"meeting_participant:{participant.id}"  # the row its send marks
        assert meeting.title in str(make_header(decode_header(msg["Subject"])))
        parts = body_parts(msg)
        join_url = f"{rt.settings.base_url}/join/{participant.join_token}"
        assert join_url in parts["text/plain"]
        assert f'href="{join_url}"' in parts["text/html"]
        assert len(parts["calendars"]) == 1
        cal = Calendar.from_ical(parts["calendars"][0])
        assert str(cal["method"]) == "REQUEST"
        (event,) = cal.walk("VEVENT")
        assert str(event["uid"]) == f"{meeting.id}@caredesk"
        assert event.decoded("dtstart") == T0
        assert event.decoded("dtend") == meeting.ends_at
        attendees = event["attendee"] if isinstance(event["attendee"], list) else [event["attendee"]]
        assert [str(a) for a in attendees] == [f"mailto:{staff.email}"]
        assert join_url in str(event["description"])
        # Delivery recorded on the participant.
        assert (participant.email_status, participant.email_attempts) == ("sent", 1)
        assert participant.email_error is None
        assert participant.email_sent_at == T0
        assert participant.inapp_status == "sent"

    with rt.session_factory() as s:
        notes = s.scalars(select(Notification).where(Notification.kind == "emergency_meeting")).all()
        assert sorted((n.staff_id, n.link) for n in notes) == sorted(
            (p.staff_id, f"/join/{p.join_token}") for p, _ in people)
        record = s.scalar(select(IncidentRecord).where(IncidentRecord.meeting_id == meeting.id))
        assert record is not None and record.status == "pending"
        expected_recorders = [p.staff_id for p, _ in people][: len(RECORDER_SECTIONS)]
        assert [(r.position, r.staff_id, r.section) for r in record.recorders] == [
            (i, sid, RECORDER_SECTIONS[i]) for i, sid in enumerate(expected_recorders)]
        assert record.recorders[0].staff_id == people[0][0].staff_id  # the primary writes first


class Joiner:
    """Opens join links through the web route when the app has it, otherwise through the action."""

    def __init__(self, rt: Runtime) -> None:
        from fastapi.testclient import TestClient

        from caredesk.http.app import create_app

        self.rt = rt
        app = create_app(rt, start_consumer=False)
        has_route = any(getattr(route, "path", None) == "/join/{token}" for route in app.routes)
        self.client = TestClient(app) if has_route else None

    def join(self, token: str) -> tuple[int, str | None]:
        """(status, redirect location)"""
        if self.client is not None:
            response = self.client.get(f"/join/{token}", follow_redirects=False)
            return response.status_code, response.headers.get("location")
        from caredesk.emergency.actions import do_record_join
        from caredesk.errors import NotFound

        try:
            with self.rt.uow() as uow:
                meeting = do_record_join(uow.session, token, now=self.rt.clock.now())
                uow.commit()
        except NotFound:
            return 404, None
        return 303, meeting.room_url


def test_emergency_response_join_link_records_first_join_only(frozen: Runtime, mailbox: Mailbox) -> None:
    rt = frozen
    joiner = Joiner(rt)
    outcome = receive(rt, ZH_URGENT)
    assert outcome.meeting_id is not None
    meeting, people = load_meeting(rt, outcome.meeting_id)
    assert meeting.status == "scheduled"
    first, second = people[0][0], people[1][0]

    assert joiner.join("no-such-token")[0] == 404
    meeting, people = load_meeting(rt, meeting.id)
    assert meeting.status == "scheduled" and all(p.joined_at is None for p, _ in people)

    rt.clock.advance(timedelta(minutes=3))  # type: ignore[attr-defined]
    assert joiner.join(first.join_token) == (303, meeting.room_url)
    meeting, people = load_meeting(rt, meeting.id)
    assert meeting.status == "active"
    assert people[0][0].joined_at == T0 + timedelta(minutes=3)
    assert people[1][0].joined_at is None

    rt.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
    assert joiner.join(first.join_token) == (303, meeting.room_url)  # the same link again changes nothing
    assert joiner.join(second.join_token) == (303, meeting.room_url)
    meeting, people = load_meeting(rt, meeting.id)
    assert meeting.status == "active"
    assert people[0][0].joined_at == T0 + timedelta(minutes=3)
    assert people[1][0].joined_at == T0 + timedelta(minutes=13)
    with rt.session_factory() as s:
        joins = s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "emergency.joined",
                                                         AuditEntry.object_id == meeting.id)).all()
    assert sorted(joins) == sorted([first.staff_id, second.staff_id])


def test_emergency_response_failed_delivery_is_recorded_and_retried_once(frozen: Runtime,
                                                                          mailbox: Mailbox) -> None:
    rt = frozen
    mailbox.fail_next = 1  # the SMTP server answers 451 to the first notice
    outcome = receive(rt, EN_URGENT)
    meeting, people = load_meeting(rt, str(outcome.meeting_id))
    failed, _ = people[0]
    assert failed.email_status == "failed"
    assert failed.email_attempts == 1
    assert failed.email_error and "451" in failed.email_error
    assert failed.email_sent_at is None
    assert all(p.email_status == "sent" for p, _ in people[1:])
    assert len(mailbox.messages) == len(people) - 1
    failed_staff = people[0][1]
    assert failed_staff.email not in {a for m in mailbox.messages for a in recipients(m)}

    rt.clock.advance(timedelta(seconds=30))  # type: ignore[attr-defined]
    assert send_meeting_notice(failed.id) == "sent"
    _, people = load_meeting(rt, meeting.id)
    retried = people[0][0]
    assert (retried.email_status, retried.email_attempts, retried.email_error) == ("sent", 2, None)
    assert retried.email_sent_at == T0 + timedelta(seconds=30)
    assert len(mailbox.messages) == len(people)
    assert Counter(a for m in mailbox.messages for a in recipients(m))[failed_staff.email] == 1

    # Re-running after success sends nothing more, for every participant.
    for participant, _ in people:
        assert send_meeting_notice(participant.id) == "skipped"
    assert send_meeting_notice("no-such-participant") == "skipped"
    _, people = load_meeting(rt, meeting.id)
    assert [p.email_attempts for p, _ in people] == [2] + [1] * (len(people) - 1)
    assert len(mailbox.messages) == len(people)


def test_emergency_response_concurrent_deliveries_send_one_email(frozen: Runtime, mailbox: Mailbox) -> None:
    """Two workers running the same notice at once (a redelivered task): the claim lets one send; the other
    finds it claimed (the send happens after the claim's commit, tasks/notice.py) and skips it."""
    rt = frozen
    outcome = receive(rt, ZH_URGENT)
    _, people = load_meeting(rt, str(outcome.meeting_id))
    mailbox.wait_for(len(people))
    with rt.uow() as uow:  # back to pending, as if the first delivery had not happened yet
        for participant in uow.session.scalars(select(MeetingParticipant)):
            participant.email_status, participant.email_attempts = "pending", 0
        uow.commit()
    mailbox.messages.clear()

    real_send = rt.mailer.send
    start = threading.Barrier(2)

    def slow_send(message: Any) -> None:  # widen the window between reading the row and committing
        time.sleep(0.3)
        real_send(message)

    rt.mailer.send = slow_send  # type: ignore[method-assign]
    target = people[0][0].id
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            results.append(send_meeting_notice(target))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert sorted(results) == ["claimed", "sent"]
    assert len(mailbox.messages) == 1
    with rt.session_factory() as s:
        row = s.get(MeetingParticipant, target)
        assert row is not None and (row.email_status, row.email_attempts) == ("sent", 1)
        assert s.scalar(select(func.count()).select_from(EmergencyMeeting)) == 1


def test_emergency_response_a_second_urgent_message_joins_the_running_meeting(frozen: Runtime,
                                                                             mailbox: Mailbox) -> None:
    """The customer writes again while the meeting runs: nobody is called a second time; once the meeting
    has ended, a new urgent message starts a new response."""
    rt = frozen
    first = receive(rt, ZH_URGENT)
    assert first.decision.kind == "emergency" and first.meeting_id
    again = do_receive_message(rt, IncomingMessage("还没人处理吗？钱又被刷了一笔，不是我操作的！", "web", "cust-urgent",
                                                   first.conversation_id))
    assert again.decision.kind == "emergency" and again.meeting_id == first.meeting_id
    assert "still running: joins it" in again.decision.reason
    with rt.session_factory() as s:
        assert len(s.scalars(select(EmergencyMeeting)).all()) == 1
        meeting = s.get(EmergencyMeeting, first.meeting_id)
        assert meeting is not None
        ends = meeting.ends_at
    rt.clock.advance(ends - rt.clock.now() + timedelta(minutes=1))  # type: ignore[attr-defined]
    later = do_receive_message(rt, IncomingMessage("又被盗刷了，不是我本人操作", "web", "cust-urgent",
                                                   first.conversation_id))
    assert later.decision.kind == "emergency" and later.meeting_id not in (None, first.meeting_id)
