"""Threshold alerts on SQLite and PostgreSQL, with the real outbox, queue (immediate) and SMTP server: a
response failure rate over 10% in the last hour tells the rule's roles once (in-app and e-mail, in Chinese and
English, with the figure, the threshold and the cockpit link); a second check tells nothing; the rate falling
tells the recovery once. SMS and a signed chat-ops webhook reach a local HTTP receiver; in the alarm
strategy's quiet hours the held channel (SMS) waits in the outbox until they end, chat-ops goes at once."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from caredesk.analytics.rollups import MessageFacts, add_messages
from caredesk.analytics.threshold_actions import do_check_thresholds
from caredesk.analytics.thresholds import Rule, load_thresholds
from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.storage.orm import Notification, OutboxEvent, Staff, ThresholdNotice, ThresholdState
from caredesk.storage.outbox import relay_once
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox, _clean, make_settings
from tests.integration.alarm_helpers import http_receiver

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai


def _messages(rt: Runtime, hour: datetime, total: int, failed: int) -> None:
    facts = [MessageFacts(hour + timedelta(minutes=i % 60), {"channel": ("web",)},
                          frozenset({"messages", "unanswered"} if i < failed else {"messages", "auto_answered"}))
             for i in range(total)]
    with rt.uow() as uow:
        add_messages(uow.session, facts)
        uow.commit()


def _told(rt: Runtime) -> list[tuple[str, str]]:
    with rt.session_factory() as s:
        return [(n.kind, n.staff_id) for n in s.scalars(select(Notification).where(
            Notification.kind.like("threshold_%")).order_by(Notification.created_at, Notification.staff_id))]


def test_a_breach_is_told_once_and_its_recovery_once(runtime: Runtime, mailbox: Mailbox) -> None:
    rt = runtime
    with rt.uow() as uow:
        for username, role in (("lead", "team_lead"), ("manager", "complaint_manager"), ("agent", "agent")):
            uow.session.add(Staff(username=f"thr-{username}", display_name=username,
                                  email=f"{username}@example.com", role=role))
        uow.commit()
    with rt.session_factory() as s:
        ids = {p.username.removeprefix("thr-"): p.id for p in s.scalars(select(Staff).where(
            Staff.username.like("thr-%")))}
    rules = load_thresholds().rules  # the shipped defaults: only the failure rate has data
    _messages(rt, NOW - timedelta(hours=1), total=40, failed=6)  # 15% of 40 in the last hour
    _messages(rt, NOW - timedelta(hours=2), total=3, failed=3)  # earlier: outside the window

    run = do_check_thresholds(rt.uow(), now=NOW, rules=rules, tz=rt.settings.display_timezone)
    assert run.breached == ["response_failure_high"] and run.recovered == []
    assert run.figures["response_failure_high"].value == 0.15
    assert run.figures["response_failure_high"].volume == 40
    assert sorted(_told(rt)) == sorted([("threshold_breach", ids["lead"]), ("threshold_breach", ids["manager"])])
    with rt.session_factory() as s:
        note = s.scalars(select(Notification).where(Notification.kind == "threshold_breach")).first()
        assert note is not None and note.link == "/analytics"
        assert "阈值告警" in note.title and "Threshold breached" in note.title
        assert "15.0%" in note.body and "10.0%" in note.body
    assert sorted(m["To"] for m in mailbox.messages) == ["lead@example.com", "manager@example.com"]
    mail = mailbox.messages[0]
    content = mail.get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
    assert "15.0%" in content and "10.0%" in content and f"{rt.settings.base_url}/analytics" in content
    assert "Threshold breached" in str(mail["Subject"])

    again = do_check_thresholds(rt.uow(), now=NOW, rules=rules, tz=rt.settings.display_timezone)
    assert again.breached == [] and again.recovered == []
    assert len(_told(rt)) == 2 and len(mailbox.messages) == 2

    _messages(rt, NOW, total=50, failed=1)  # the next hour: 2%
    later = NOW + timedelta(hours=1)
    run = do_check_thresholds(rt.uow(), now=later, rules=rules, tz=rt.settings.display_timezone)
    assert run.recovered == ["response_failure_high"] and run.breached == []
    assert [k for k, _ in _told(rt)].count("threshold_recovery") == 2
    assert len(mailbox.messages) == 4
    assert all("Threshold recovered" in str(m["Subject"]) for m in mailbox.messages[2:])
    assert do_check_thresholds(rt.uow(), now=later, rules=rules, tz=rt.settings.display_timezone).recovered == []
    assert len(_told(rt)) == 4
    with rt.session_factory() as s:
        state = s.get(ThresholdState, "response_failure_high")
        assert state is not None and state.state == "ok" and state.since == later
        assert state.last_value == 0.02 and state.notified_at == later
        assert all(n.channel == "email" and n.sent_at is not None and n.attempts == 1
                   for n in s.scalars(select(ThresholdNotice)))


def test_too_few_messages_are_not_judged(runtime: Runtime, mailbox: Mailbox) -> None:
    _messages(runtime, NOW - timedelta(hours=1), total=5, failed=5)  # 100%, but 5 messages (minimum 20)
    run = do_check_thresholds(runtime.uow(), now=NOW, rules=load_thresholds().rules)
    assert run.breached == [] and run.figures["response_failure_high"].value == 1.0
    assert _told(runtime) == [] and mailbox.messages == []


def test_sms_and_signed_webhook_notices(db_url: str, tmp_path: Path, mailbox: Mailbox,
                                        pipeline: TriagePipeline) -> None:
    with http_receiver() as receiver:
        strategy = tmp_path / "strategy.yaml"
        strategy.write_text(f"""
name: thresholds-test
audiences:
  lead: {{roles: [team_lead]}}
webhooks:
  - {{name: ops-room, kind: generic, url: "{receiver.url}/hooks/ops"}}
levels:
  - name: first
    notify:
      - {{audience: lead, channels: [in_app]}}
""", encoding="utf-8")
        secret = "threshold-hook-secret"
        rt = build_runtime(make_settings(db_url, tmp_path / "var", mailbox, alarm_strategy_file=strategy,
                                         alarm_webhook_secrets={"ops-room": secret},
                                         sms_gateway_url=f"{receiver.url}/sms", sms_gateway_token="gw-token"))
        rt.set_pipeline(pipeline)
        try:
            with rt.uow() as uow:
                uow.session.add(Staff(username="thr-sms", display_name="lead", email="sms-lead@example.com",
                                      phone="+8613800000001", role="team_lead"))
                uow.commit()
            rule = Rule.model_validate(dict(
                name="failures", metric="response_failure_rate", comparison="above", value=0.1, window="last_hour",
                minimum_volume=20, channels=["sms", "webhook"], recipients=["team_lead"], webhooks=["ops-room"]))
            _messages(rt, NOW - timedelta(hours=1), total=20, failed=10)
            assert do_check_thresholds(rt.uow(), now=NOW, rules=[rule]).breached == ["failures"]
            by_path = {r.path: r for r in receiver.requests}
            assert set(by_path) == {"/sms", "/hooks/ops"}
            sms = by_path["/sms"]
            assert sms.headers["authorization"] == "Bearer gw-token"
            assert sms.json()["to"] == "+8613800000001" and "50.0%" in sms.json()["text"]
            hook = by_path["/hooks/ops"]
            stamp = hook.headers["x-caredesk-timestamp"]
            mac = hmac.new(secret.encode(), stamp.encode() + b"." + hook.body, hashlib.sha256).hexdigest()
            assert hook.headers["x-caredesk-signature"] == "v1=" + mac
            payload = hook.json()
            assert "50.0%" in str(payload) and "/analytics" in str(payload) and "threshold_breach" in str(payload)
            assert mailbox.messages == [] and _told(rt) == []  # neither e-mail nor in-app on this rule
            with rt.session_factory() as s:
                assert sorted((n.channel, n.sent_at is not None) for n in s.scalars(select(ThresholdNotice))) == [
                    ("sms", True), ("webhook", True)]
        finally:
            _clean(rt)
            rt.engine.dispose()


def test_quiet_hours_hold_sms_notices_until_they_end(db_url: str, tmp_path: Path, mailbox: Mailbox,
                                                     pipeline: TriagePipeline) -> None:
    night = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    with http_receiver() as receiver:
        strategy = tmp_path / "strategy.yaml"
        strategy.write_text(f"""
name: thresholds-quiet
audiences:
  lead: {{roles: [team_lead]}}
quiet_hours: {{start: "22:00", end: "07:00", timezone: Asia/Shanghai, hold: [sms]}}
webhooks:
  - {{name: ops-room, kind: generic, url: "{receiver.url}/hooks/ops"}}
levels:
  - name: first
    notify:
      - {{audience: lead, channels: [in_app]}}
""", encoding="utf-8")
        rt = build_runtime(make_settings(db_url, tmp_path / "var", mailbox, alarm_strategy_file=strategy,
                                         alarm_webhook_secrets={"ops-room": "s"},
                                         sms_gateway_url=f"{receiver.url}/sms", sms_gateway_token="gw-token"),
                           clock=FrozenClock(night))
        rt.set_pipeline(pipeline)
        try:
            with rt.uow() as uow:
                uow.session.add(Staff(username="thr-quiet", display_name="lead", email="quiet-lead@example.com",
                                      phone="+8613800000002", role="team_lead"))
                uow.commit()
            rule = Rule.model_validate(dict(
                name="failures", metric="response_failure_rate", comparison="above", value=0.1, window="last_hour",
                minimum_volume=20, channels=["in_app", "sms", "webhook"], recipients=["team_lead"],
                webhooks=["ops-room"]))
            _messages(rt, night - timedelta(hours=1), total=20, failed=10)
            run = do_check_thresholds(rt.uow(), now=night, rules=[rule], quiet=rt.alarm_strategy.quiet_hours)
            assert run.breached == ["failures"]
            assert [r.path for r in receiver.requests] == ["/hooks/ops"]  # chat-ops is not held
            assert [kind for kind, _ in _told(rt)] == ["threshold_breach"]  # nor the in-app notice
            with rt.session_factory() as s:
                sms = s.scalar(select(ThresholdNotice).where(ThresholdNotice.channel == "sms"))
                assert sms is not None and sms.sent_at is None
                held = s.scalar(select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None)))
                assert held is not None and held.available_at == datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # 07:00
            assert relay_once(rt.uow, rt.subscribers, now=night + timedelta(hours=1)).dispatched == 0
            assert [r.path for r in receiver.requests] == ["/hooks/ops"]
            rt.clock = FrozenClock(datetime(2026, 3, 2, 23, 0, tzinfo=UTC))
            assert relay_once(rt.uow, rt.subscribers, now=rt.clock.now()).dispatched == 1
            assert [r.path for r in receiver.requests] == ["/hooks/ops", "/sms"]
            assert receiver.requests[-1].json()["to"] == "+8613800000002"
            with rt.session_factory() as s:
                assert all(n.sent_at is not None for n in s.scalars(select(ThresholdNotice)))
        finally:
            _clean(rt)
            rt.engine.dispose()
