"""The alarm strategy for real (SQLite and PostgreSQL, a real SMTP server, real local HTTP receivers): a
Chinese conversation with three regulator threats raises exactly one alarm with its forecast, e-mailed to
the team lead (parsed back) and shown in-app; nobody acknowledges, so the escalation task (run with a
frozen clock) tells the next level once; acknowledged in time it tells nobody; chat-ops webhooks arrive
signed and an SMS gateway is called, failures are recorded and retried; quiet hours hold SMS."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import Message as EmailMsg
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from caredesk.alarms.lifecycle import AlarmActor, do_acknowledge_alarm, run_alarm_action
from caredesk.alarms.tasks import deliver_alarm_notice, escalate_alarm
from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.storage.orm import Alarm, AlarmDelivery, AlarmEvent, AuditEntry, Notification, OutboxEvent, Staff
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox
from tests.integration.alarm_helpers import Received, demo_runtime_with, http_receiver

THREATS_ZH = ["我要向12378投诉", "再不处理我就打12378", "我已经准备好材料去银保监会投诉"]
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: outside quiet hours


def converse(rt: Runtime, texts: list[str], ref: str = "cust-12378") -> list[IntakeOutcome]:
    outcomes: list[IntakeOutcome] = []
    for text in texts:
        cid = outcomes[0].conversation_id if outcomes else None
        outcomes.append(do_receive_message(rt, IncomingMessage(text, "web", ref, cid)))
    return outcomes


def to(msg: EmailMsg) -> list[str]:
    return [addr for _, addr in getaddresses(msg.get_all("To", []))]


def text_of(msg: EmailMsg) -> str:
    part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    return str(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8"))


def alarm_mails(mailbox: Mailbox, level: int) -> dict[str, EmailMsg]:
    return {to(m)[0]: m for m in mailbox.messages if m["X-CareDesk-Alarm-Level"] == str(level)}


def emails_of(rt: Runtime, role: str) -> set[str]:
    with rt.session_factory() as s:
        return set(s.scalars(select(Staff.email).where(Staff.role == role, Staff.active)))


def load(rt: Runtime, alarm_id: str) -> tuple[Alarm, list[AlarmDelivery], list[AlarmEvent]]:
    with rt.session_factory() as s:
        alarm = s.get(Alarm, alarm_id)
        assert alarm is not None
        deliveries = list(s.scalars(select(AlarmDelivery).where(AlarmDelivery.alarm_id == alarm_id)))
        events = list(s.scalars(select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id)
                                .order_by(AlarmEvent.created_at, AlarmEvent.id)))
        return alarm, deliveries, events


@pytest.fixture
def frozen(demo_runtime: Runtime) -> Runtime:
    demo_runtime.clock = FrozenClock(T0)
    return demo_runtime


def scheduled_escalations(rt: Runtime) -> list[tuple[Any, ...]]:
    """The escalation checks waiting in the outbox (delayed events: rows available at the timeout)."""
    with rt.session_factory() as s:
        rows = s.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "alarms.escalation_due",
                                                   OutboxEvent.dispatched_at.is_(None)).order_by(OutboxEvent.id))
        return [(r.payload["data"]["alarm_id"], r.payload["data"]["from_level"]) for r in rows]


def test_alarm_three_regulator_threats_email_team_lead_and_escalate_after_timeout(
        frozen: Runtime, mailbox: Mailbox) -> None:
    rt = frozen
    published: list[dict[str, Any]] = []
    real_publish = rt.live.publish
    rt.live.publish = lambda event: (published.append(event), real_publish(event))  # type: ignore[method-assign]

    outcomes = converse(rt, THREATS_ZH)
    assert [o.alarm_id is not None for o in outcomes] == [False, False, True]
    alarm_id = str(outcomes[2].alarm_id)
    with rt.session_factory() as s:
        assert [a.id for a in s.scalars(select(Alarm))] == [alarm_id]  # exactly one

    alarm, deliveries, events = load(rt, alarm_id)
    assert (alarm.status, alarm.count, alarm.level, alarm.escalation_level) == ("open", 3, 3, 0)
    assert "regulator" in alarm.details["types"]  # the third complaint in a row is also "repeated"
    assert alarm.escalate_at == T0 + timedelta(minutes=15)
    # The forecast: a probability with named reasons, the threats first.
    assert alarm.forecast_probability is not None and alarm.forecast_probability > 0.8
    assert alarm.forecast["reasons"][0]["feature"] == "external_threats"
    assert alarm.forecast["reasons"][0]["value"] == 3

    # E-mail to the team leads (the conversation has no agent yet), parsed back from the SMTP server.
    leads = emails_of(rt, "team_lead")
    mails = alarm_mails(mailbox, 0)
    assert set(mails) == leads and "lead@demo-bank.example" in mails
    # one alarm e-mail each (the regulator threats also started the complaint roster's emergency: its
    # invitations are separate messages)
    assert len([m for m in mailbox.messages if m["X-CareDesk-Alarm"]]) == len(leads)
    lead_mail = mails["lead@demo-bank.example"]
    assert lead_mail["X-CareDesk-Alarm"] == alarm_id
    subject = str(make_header(decode_header(lead_mail["Subject"])))
    assert "cust-12378" in subject and "regulator" in subject
    body = text_of(lead_mail)
    assert f"{rt.settings.base_url}/workbench/conversations/{outcomes[0].conversation_id}" in body
    assert "3 (阈值 / threshold 3" in body and "%" in body

    # In-app: notices and deliveries recorded, a live event published.
    with rt.session_factory() as s:
        lead = s.scalar(select(Staff).where(Staff.username == "lead"))
        assert lead is not None
        notices = s.scalars(select(Notification).where(Notification.kind == "alarm",
                                                       Notification.staff_id == lead.id)).all()
        assert len(notices) == 1
    by_channel = {(d.channel, d.status) for d in deliveries}
    assert by_channel == {("in_app", "sent"), ("email", "sent")}
    assert all(d.attempts == 1 and d.level == 0 for d in deliveries)
    assert [e.kind for e in events] == ["raised", "notified"]
    assert {"type": "alarm", "alarm_id": alarm_id, "conversation_id": outcomes[0].conversation_id,
            "change": "raised"} in published

    # The escalation check was recorded with the alarm (in its transaction), with the alarm id and its level,
    # and waits in the outbox for the timeout.
    assert scheduled_escalations(rt) == [(alarm_id, 0)]

    # Too early: nothing happens (the task re-checks the time), and it checks back later.
    rt.clock.advance(timedelta(minutes=14))  # type: ignore[attr-defined]
    assert escalate_alarm(alarm_id, 0) == "not_due"
    assert load(rt, alarm_id)[0].escalation_level == 0

    # Nobody acknowledged within 15 minutes: the next level (administrator, complaint manager) is told.
    mailbox.messages.clear()
    rt.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    assert escalate_alarm(alarm_id, 0) == "escalated"
    alarm, deliveries, events = load(rt, alarm_id)
    assert (alarm.status, alarm.escalation_level, alarm.escalate_at) == ("open", 1, None)
    escalated = alarm_mails(mailbox, 1)
    assert set(escalated) == emails_of(rt, "admin") | emails_of(rt, "complaint_manager")
    assert "Escalated" in str(make_header(decode_header(escalated["admin@demo-bank.example"]["Subject"])))
    level1 = {(d.channel, d.status, d.last_error) for d in deliveries if d.level == 1}
    assert ("sms", "skipped", "no phone number") in level1  # recorded, not silently dropped
    assert [e.kind for e in events][-2:] == ["escalated", "notified"]
    with rt.session_factory() as s:
        audit = s.scalars(select(AuditEntry.action).where(AuditEntry.object_id == alarm_id)).all()
    assert audit == ["alarm.raised", "alarm.escalated"]

    # Idempotent: the same task again (a redelivery) changes nothing and sends nothing.
    count = len(mailbox.messages)
    assert escalate_alarm(alarm_id, 0) == "skipped"
    assert escalate_alarm(alarm_id, 1) == "skipped"  # the last level has no timeout
    assert len(mailbox.messages) == count and load(rt, alarm_id)[0].escalation_level == 1


def test_alarm_acknowledged_in_time_is_not_escalated(frozen: Runtime, mailbox: Mailbox) -> None:
    rt = frozen
    outcomes = converse(rt, THREATS_ZH, ref="cust-ack")
    alarm_id = str(outcomes[2].alarm_id)
    mailbox.wait_for(len(emails_of(rt, "team_lead")))
    mailbox.messages.clear()
    with rt.session_factory() as s:
        agent = s.scalar(select(Staff).where(Staff.username == "agent"))
        assert agent is not None
    rt.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
    run_alarm_action(rt.uow, do_acknowledge_alarm, alarm_id, AlarmActor(f"staff:{agent.id}", agent.id),
                     clock=rt.clock)

    rt.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
    assert escalate_alarm(alarm_id, 0) == "skipped"
    alarm, deliveries, events = load(rt, alarm_id)
    assert (alarm.status, alarm.escalation_level, alarm.acknowledged_by) == ("acknowledged", 0, agent.id)
    assert alarm.acknowledged_at == T0 + timedelta(minutes=10)
    assert mailbox.messages == [] and {d.level for d in deliveries} == {0}
    assert "escalated" not in [e.kind for e in events] and events[-1].actor == f"staff:{agent.id}"


def test_alarm_lifecycle_through_the_api(api: Any, demo_runtime: Runtime, mailbox: Mailbox) -> None:
    outcomes = converse(demo_runtime, THREATS_ZH, ref="cust-api")
    alarm_id = outcomes[2].alarm_id
    listed = api.get("/api/v1/alarms", params={"conversation_id": outcomes[0].conversation_id}).json()["items"]
    assert [a["id"] for a in listed] == [alarm_id] and listed[0]["forecast"]["probability"] > 0.5

    r = api.post(f"/api/v1/alarms/{alarm_id}/acknowledge", json={"note": "我来跟进"})
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    assert api.post(f"/api/v1/alarms/{alarm_id}/acknowledge").status_code == 409
    with demo_runtime.session_factory() as s:
        manager = s.scalar(select(Staff).where(Staff.username == "zheng.hui"))
        auditor = s.scalar(select(Staff).where(Staff.role == "auditor"))
        assert manager is not None and auditor is not None
    assert api.post(f"/api/v1/alarms/{alarm_id}/assign", json={"staff_id": auditor.id}).status_code == 400
    r = api.post(f"/api/v1/alarms/{alarm_id}/assign", json={"staff_id": manager.id, "note": "投诉经理接手"})
    assert r.status_code == 200 and r.json()["assigned_to"] == manager.id
    unexplained = api.post(f"/api/v1/alarms/{alarm_id}/resolve")  # a reason is required: nothing changes
    assert (unexplained.status_code, unexplained.json()["code"]) == (400, "invalid_input")
    assert api.get(f"/api/v1/alarms/{alarm_id}").json()["status"] != "resolved"
    r = api.post(f"/api/v1/alarms/{alarm_id}/resolve", json={"note": "客户已安抚，撤回投诉"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert api.post(f"/api/v1/alarms/{alarm_id}/resolve").status_code == 409
    assert api.post(f"/api/v1/alarms/{alarm_id}/assign", json={"staff_id": manager.id}).status_code == 409
    assert api.post("/api/v1/alarms/nope/acknowledge").status_code == 404

    detail = api.get(f"/api/v1/alarms/{alarm_id}").json()
    assert [e["kind"] for e in detail["events"]] == ["raised", "notified", "acknowledged", "assigned", "resolved"]
    assert detail["events"][3]["note"] == "投诉经理接手"
    assert {d["channel"] for d in detail["deliveries"]} == {"in_app", "email"}
    with demo_runtime.session_factory() as s:
        audit = s.scalars(select(AuditEntry.action).where(AuditEntry.object_id == alarm_id)
                          .order_by(AuditEntry.id)).all()
    assert audit == ["alarm.raised", "alarm.acknowledged", "alarm.assigned", "alarm.resolved"]

    # Resolved: the next threat starts a fresh count instead of re-raising at once.
    more = converse(demo_runtime, THREATS_ZH[:1], ref="cust-api")  # a new conversation: count from zero
    assert more[0].alarm_id is None
    again = do_receive_message(demo_runtime, IncomingMessage(THREATS_ZH[0], "web", "cust-api",
                                                             outcomes[0].conversation_id))
    assert again.alarm_id is None
    agent_key_headers = {"Authorization": "Bearer " + _key(demo_runtime, "auditor")}
    assert api.post(f"/api/v1/alarms/{alarm_id}/acknowledge", headers=agent_key_headers).status_code == 403


def _key(rt: Runtime, role: str) -> str:
    from tests.conftest import create_key

    return create_key(rt, role)


def _strategy_file(tmp_path: Path, receiver_url: str) -> Path:
    path = tmp_path / "strategy.yaml"
    path.write_text(f"""
name: test-webhooks
audiences:
  administrator: {{roles: [admin]}}
quiet_hours: {{start: "22:00", end: "07:00", timezone: Asia/Shanghai, hold: [sms]}}
webhooks:
  - {{name: ops-room, kind: generic, url: "{receiver_url}/hooks/ops"}}
  - {{name: ding-room, kind: dingtalk, url: "{receiver_url}/robot/send?access_token=abc"}}
levels:
  - name: first
    notify:
      - {{audience: administrator, channels: [sms]}}
      - {{webhooks: all}}
""", encoding="utf-8")
    return path


def _signed_correctly(secret: str) -> Any:
    def check(got: Received) -> bool:
        if got.path == "/sms":  # the gateway authenticates by bearer token instead
            return got.headers.get("authorization") == "Bearer gw-token"
        stamp = got.headers.get("x-caredesk-timestamp", "")
        mac = hmac.new(secret.encode(), stamp.encode() + b"." + got.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(got.headers.get("x-caredesk-signature", ""), "v1=" + mac)
    return check


def test_alarm_webhooks_signed_sms_gateway_retried_and_quiet_hours(
        db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> None:
    with http_receiver() as receiver:
        secret = "chatops-secret-for-tests"
        receiver.check = _signed_correctly(secret)
        receiver.statuses = [500]  # the first post fails
        settings = dict(alarm_strategy_file=_strategy_file(tmp_path, receiver.url),
                        alarm_webhook_secrets={"ops-room": secret, "ding-room": secret},
                        sms_gateway_url=f"{receiver.url}/sms", sms_gateway_token="gw-token")
        with demo_runtime_with(db_url, tmp_path / "var", mailbox, pipeline, **settings) as rt:
            rt.clock = FrozenClock(T0)
            with rt.uow() as uow:
                admin = uow.session.scalar(select(Staff).where(Staff.username == "admin"))
                assert admin is not None
                admin.phone = "+8613800000000"
                uow.commit()

            outcomes = converse(rt, THREATS_ZH, ref="cust-hooks")
            alarm_id = str(outcomes[2].alarm_id)
            _, deliveries, _ = load(rt, alarm_id)
            status = {(d.channel, d.recipient): (d.status, d.attempts) for d in deliveries}
            failed = [k for k, v in status.items() if v == ("failed", 1)]
            assert len(failed) == 1 and sorted(v for v in status.values()) == [("failed", 1), ("sent", 1),
                                                                                 ("sent", 1)]
            assert rt.alarm_strategy.level(0) is not None and scheduled_escalations(rt) == []  # no timeout

            # The failed one is retried (as the queue would) and then sent; re-running sends nothing more.
            (failed_delivery,) = [d for d in deliveries if d.status == "failed"]
            assert failed_delivery.last_error and "500" in failed_delivery.last_error
            assert deliver_alarm_notice(failed_delivery.id) == "sent"
            assert deliver_alarm_notice(failed_delivery.id) == "skipped"
            _, deliveries, events = load(rt, alarm_id)
            assert all(d.status == "sent" for d in deliveries)
            assert next(d for d in deliveries if d.id == failed_delivery.id).attempts == 2
            assert "delivery_failed" in [e.kind for e in events]

            posts = [r for r in receiver.requests if receiver.check(r)]
            assert len(receiver.requests) == 4 and len(posts) == 4  # every webhook post carried a valid signature
            ops = [r for r in posts if r.path == "/hooks/ops"][-1].json()
            assert ops["alarm_id"] == alarm_id and "cust-hooks" in ops["text"]
            ding = [r for r in posts if r.path.startswith("/robot/send")][-1]
            assert "timestamp=" in ding.path and "sign=" in ding.path
            assert ding.json()["msgtype"] == "text"
            sms = [r for r in posts if r.path == "/sms"][-1]
            assert sms.headers["authorization"] == "Bearer gw-token"
            assert sms.json()["to"] == "+8613800000000" and "cust-hooks" in sms.json()["text"]

            # In quiet hours (23:30 in Shanghai) the SMS is held until 07:00 and chat-ops goes at once.
            rt.clock = FrozenClock(datetime(2026, 3, 2, 15, 30, tzinfo=UTC))
            before = len(receiver.requests)
            late = converse(rt, THREATS_ZH, ref="cust-night")
            night_id = str(late[2].alarm_id)
            _, deliveries, _ = load(rt, night_id)
            sms_delivery = next(d for d in deliveries if d.channel == "sms")
            assert (sms_delivery.status, sms_delivery.not_before) == ("held", datetime(2026, 3, 2, 23, 0, tzinfo=UTC))
            assert len(receiver.requests) == before + 2
            assert not any(r.path == "/sms" for r in receiver.requests[before:])
            assert deliver_alarm_notice(sms_delivery.id) == "not_due"
            rt.clock = FrozenClock(datetime(2026, 3, 2, 23, 0, tzinfo=UTC))
            assert deliver_alarm_notice(sms_delivery.id) == "sent"
            assert receiver.requests[-1].path == "/sms"


def test_alarm_audiences_resolve_from_roles_departments_and_the_agent(demo_runtime: Runtime) -> None:
    from caredesk.alarms.recipients import resolve_audience
    from caredesk.alarms.strategy import Audience
    from caredesk.storage.orm import Conversation

    outcome = do_receive_message(demo_runtime, IncomingMessage(THREATS_ZH[0], "web", "cust-audience"))
    with demo_runtime.session_factory() as s:
        conversation = s.get(Conversation, outcome.conversation_id)
        agent = s.scalar(select(Staff).where(Staff.username == "agent"))
        assert conversation is not None and agent is not None

        def names(audience: Audience) -> set[str]:
            return {p.username for p in resolve_audience(s, audience, conversation)}

        leads = Audience("team_lead", roles=("team_lead",), prefer_agent_manager=True)
        complaints_leads = Audience("cl", roles=("team_lead",), departments=("compliance_and_complaints",))
        workbench = Audience("agent", conversation_agent=True)
        assert names(workbench) == set()  # nobody is assigned yet
        assert "lead" in names(leads) and len(names(leads)) > 1  # every team lead, without an agent
        assert names(complaints_leads) == {"huang.qiang"}
        conversation.assigned_staff_id = agent.id
        assert names(workbench) == {"agent"}
        assert names(leads) == {"lead"}  # the agent's own manager, when that manager is a team lead
        s.rollback()
