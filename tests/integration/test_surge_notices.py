"""Surge notices on SQLite and PostgreSQL with the real outbox, queue (immediate), SMTP server (aiosmtpd) and a
local HTTP receiver for SMS and chat-ops: a surge that opens is told once (in-app with the report's link, e-mail
with the figure and the link), judging the hour again tells nothing; resolving it tells once more, whether a
supervisor resolves it or it resolves on its own after quiet hours; SMS and a signed webhook carry the figure and
the link; a replay of history tells nobody."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from caredesk.analytics.surge_actions import do_detect_surges, replay_surges
from caredesk.analytics.surge_lifecycle import do_resolve_surge
from caredesk.analytics.thresholds import SurgeSettings, ThresholdsFile, load_thresholds
from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.errors import Conflict
from caredesk.storage.orm import Notification, OutboxEvent, Staff, Surge, ThresholdNotice
from caredesk.storage.outbox import relay_once
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox, _clean, make_settings
from tests.integration.alarm_helpers import Receiver, http_receiver
from tests.support.surges import DETECT_AT, HOUR, PHONE, RISE_START, SHANGHAI, seed_rising_topic


def _staff(rt: Runtime) -> dict[str, str]:
    with rt.uow() as uow:
        for role in ("team_lead", "complaint_manager", "agent"):
            uow.session.add(Staff(username=f"sn-{role}", display_name=role, email=f"{role}@example.com",
                                  phone="+8613800000001" if role == "team_lead" else None, role=role))
        uow.commit()
    with rt.session_factory() as s:
        return {p.role: p.id for p in s.scalars(select(Staff).where(Staff.username.like("sn-%")))}


def _fee_surge(rt: Runtime) -> Surge:
    with rt.session_factory() as s:
        surge = s.scalar(select(Surge).where(Surge.dimension == "topic", Surge.value == "card_fee"))
        assert surge is not None
        return surge


def _in_app(rt: Runtime, kind: str) -> list[Notification]:
    with rt.session_factory() as s:
        return list(s.scalars(select(Notification).where(Notification.kind == kind)))


def test_surge_told_once_when_opened_and_once_when_resolved(runtime: Runtime, mailbox: Mailbox) -> None:
    rt = runtime
    ids = _staff(rt)
    seed_rising_topic(rt)
    run = do_detect_surges(rt.uow(), now=DETECT_AT, tz=SHANGHAI)
    surge = _fee_surge(rt)
    assert surge.id in run.opened
    opened = len(run.opened)  # topic card_fee, and the other series these messages share
    link = f"/analytics/surges/{surge.id}"

    notes = _in_app(rt, "surge_opened")
    assert {n.staff_id for n in notes} == {ids["team_lead"], ids["complaint_manager"]}  # not the agent
    assert len(notes) == 2 * opened
    fee_note = next(n for n in notes if n.link == link)
    assert "Surge: topic card_fee: 24 messages" in fee_note.title and "突增" in fee_note.title
    assert "2026-03-02 10:00" in fee_note.body  # since when, in the centre's time zone
    mails = mailbox.wait_for(2 * opened)
    fee_mails = [m for m in mails if "topic card_fee" in str(m["Subject"])]
    assert sorted(m["To"] for m in fee_mails) == ["complaint_manager@example.com", "team_lead@example.com"]
    content = fee_mails[0].get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
    assert "24 messages" in content and f"{rt.settings.base_url}{link}" in content and PHONE not in content

    again = do_detect_surges(rt.uow(), now=DETECT_AT + HOUR * 0.01, tz=SHANGHAI)
    assert again.opened == [] and len(_in_app(rt, "surge_opened")) == 2 * opened
    assert len(mailbox.messages) == 2 * opened

    do_resolve_surge(rt.uow(), surge.id, actor=f"staff:{ids['team_lead']}", staff_id=ids["team_lead"],
                     now=DETECT_AT + HOUR, tz=SHANGHAI)
    resolved = _in_app(rt, "surge_resolved")
    assert len(resolved) == 2 and all(n.link == link for n in resolved)
    assert "Surge resolved: topic card_fee" in resolved[0].title
    mails = mailbox.wait_for(2 * opened + 2)
    assert sum("Surge resolved" in str(m["Subject"]) for m in mails) == 2
    with pytest.raises(Conflict):
        do_resolve_surge(rt.uow(), surge.id, actor="test", staff_id=None, now=DETECT_AT + 2 * HOUR)
    assert len(_in_app(rt, "surge_resolved")) == 2 and len(mailbox.messages) == 2 * opened + 2
    with rt.session_factory() as s:
        rows = list(s.scalars(select(ThresholdNotice).where(ThresholdNotice.rule == f"surge:{surge.id}")))
        assert sorted(r.kind for r in rows) == ["surge_opened"] * 2 + ["surge_resolved"] * 2
        assert all(r.channel == "email" and r.sent_at is not None and r.value == 24 for r in rows)


def test_a_surge_resolved_on_its_own_is_told_and_a_replay_tells_nobody(runtime: Runtime, mailbox: Mailbox
                                                                       ) -> None:
    rt = runtime
    _staff(rt)
    seed_rising_topic(rt)
    notices = SurgeSettings(channels=["in_app"], recipients=["team_lead"])
    opened = do_detect_surges(rt.uow(), now=DETECT_AT, tz=SHANGHAI, notices=notices).opened
    for later in (1, 2):  # quiet, not yet long enough
        assert do_detect_surges(rt.uow(), now=DETECT_AT + later * HOUR, tz=SHANGHAI, notices=notices).resolved == []
    run = do_detect_surges(rt.uow(), now=DETECT_AT + 3 * HOUR, tz=SHANGHAI, notices=notices)
    assert sorted(run.resolved) == sorted(opened)
    assert len(_in_app(rt, "surge_resolved")) == len(opened) and mailbox.messages == []  # in-app only here
    assert any(n.link == f"/analytics/surges/{_fee_surge(rt).id}" for n in _in_app(rt, "surge_resolved"))

    with rt.uow() as uow:  # the same history replayed: surges found again, nobody told
        for row in uow.session.scalars(select(Surge)):
            uow.session.delete(row)
        uow.commit()
    before = len(_in_app(rt, "surge_opened")) + len(_in_app(rt, "surge_resolved"))
    replayed = replay_surges(rt.uow(), RISE_START - 24 * HOUR, RISE_START + 8 * HOUR, tz=SHANGHAI)
    assert replayed.opened and replayed.resolved
    assert len(_in_app(rt, "surge_opened")) + len(_in_app(rt, "surge_resolved")) == before


SECRET = "surge-hook-secret"


@contextmanager
def _ops_runtime(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline, receiver: Receiver,
                 quiet: str = "") -> Iterator[Runtime]:
    """Surges told by SMS (the lead's phone) and a signed chat-ops webhook, both to the local receiver; `quiet`:
    the alarm strategy's quiet hours line, if any."""
    strategy = tmp_path / "strategy.yaml"
    strategy.write_text(f"""
name: surges-test
audiences:
  lead: {{roles: [team_lead]}}
{quiet}
webhooks:
  - {{name: ops-room, kind: generic, url: "{receiver.url}/hooks/ops"}}
levels:
  - name: first
    notify:
      - {{audience: lead, channels: [in_app]}}
""", encoding="utf-8")
    rules = tmp_path / "thresholds.yaml"
    rules.write_text("""
rules:
  - {name: backlog_high, metric: backlog, comparison: above, value: 50, window: now, channels: [in_app],
     recipients: [team_lead]}
surges:
  channels: [sms, webhook]
  recipients: [team_lead]
  webhooks: [ops-room]
""", encoding="utf-8")
    rt = build_runtime(make_settings(db_url, tmp_path / "var", mailbox, alarm_strategy_file=strategy,
                                     alarm_webhook_secrets={"ops-room": SECRET}, analytics_thresholds_file=rules,
                                     sms_gateway_url=f"{receiver.url}/sms", sms_gateway_token="gw-token"))
    rt.set_pipeline(pipeline)
    try:
        _staff(rt)
        seed_rising_topic(rt)
        yield rt
    finally:
        _clean(rt)
        rt.engine.dispose()


def test_surge_sms_and_signed_webhook(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline
                                      ) -> None:
    with http_receiver() as receiver, _ops_runtime(db_url, tmp_path, mailbox, pipeline, receiver) as rt:
        configured: ThresholdsFile = load_thresholds(rt.settings.analytics_thresholds_file)
        run = do_detect_surges(rt.uow(), now=DETECT_AT, tz=SHANGHAI, notices=configured.surges)
        surge = _fee_surge(rt)
        sms = [r for r in receiver.requests if r.path == "/sms"]
        hooks = [r for r in receiver.requests if r.path == "/hooks/ops"]
        assert len(sms) == len(hooks) == len(run.opened)  # one lead's phone, one room, per surge
        fee_sms = next(r.json() for r in sms if "topic card_fee" in r.json()["text"])
        assert fee_sms["to"] == "+8613800000001" and f"/analytics/surges/{surge.id}" in fee_sms["text"]
        assert sms[0].headers["authorization"] == "Bearer gw-token"
        hook = next(r for r in hooks if surge.id in r.body.decode())
        stamp = hook.headers["x-caredesk-timestamp"]
        mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + hook.body, hashlib.sha256).hexdigest()
        assert hook.headers["x-caredesk-signature"] == "v1=" + mac
        payload = str(hook.json())
        assert "surge_opened" in payload and f"/analytics/surges/{surge.id}" in payload and "24" in payload
        assert mailbox.messages == [] and _in_app(rt, "surge_opened") == []  # neither channel configured


def test_quiet_hours_hold_surge_sms_until_they_end(db_url: str, tmp_path: Path, mailbox: Mailbox,
                                                   pipeline: TriagePipeline) -> None:
    quiet = 'quiet_hours: {start: "12:00", end: "13:00", timezone: Asia/Shanghai, hold: [sms]}'
    with http_receiver() as receiver, _ops_runtime(db_url, tmp_path, mailbox, pipeline, receiver, quiet) as rt:
        rt.clock = FrozenClock(DETECT_AT)  # the unit of work sends at once what is due by its clock
        configured = load_thresholds(rt.settings.analytics_thresholds_file)
        run = do_detect_surges(rt.uow(), now=DETECT_AT, tz=SHANGHAI, notices=configured.surges,  # 12:05 there
                               quiet=rt.alarm_strategy.quiet_hours)
        assert run.opened
        assert [r.path for r in receiver.requests] == ["/hooks/ops"] * len(run.opened)  # chat-ops is not held
        with rt.session_factory() as s:
            held = list(s.scalars(select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))))
        ends = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # 13:00 in Shanghai
        assert len(held) == len(run.opened) and {row.available_at for row in held} == {ends}
        assert relay_once(rt.uow, rt.subscribers, now=ends - timedelta(minutes=1)).dispatched == 0
        assert relay_once(rt.uow, rt.subscribers, now=ends).dispatched == len(run.opened)
        sms = [r.json() for r in receiver.requests if r.path == "/sms"]
        assert len(sms) == len(run.opened) and all(m["to"] == "+8613800000001" for m in sms)
