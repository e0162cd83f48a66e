"""Alarms on the real background queue (two Huey consumers on Redis, PostgreSQL): the team leads' e-mails
are delivered once each even when every notice is delivered twice, the escalation check waits in the outbox
for its timeout, and when the relay dispatches it (with the clock past the timeout) and a worker runs it, the
next level is told once; the alarm's live event goes out through Redis pub/sub for every API process."""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses
from pathlib import Path

import pytest
import redis
from huey import RedisHuey
from sqlalchemy import select

from caredesk.alarms.tasks import deliver_alarm_notice, escalate_alarm
from caredesk.bootstrap import _register_tasks
from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.notify.live import CHANNEL
from caredesk.storage.orm import Alarm, AlarmDelivery, OutboxEvent, Staff
from caredesk.storage.outbox import relay_once
from caredesk.tasks.app import EmbeddedConsumer, TaskQueue
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox
from tests.integration.alarm_helpers import demo_runtime_with
from tests.integration.test_task_queue import running, wait_until

THREATS_ZH = ["我要向12378投诉", "再不处理我就打12378", "我已经准备好材料去银保监会投诉"]
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

pytestmark = [pytest.mark.redis, pytest.mark.parametrize("db_url", ["postgres"], indirect=True)]


@pytest.fixture
def redis_rt(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline, redis_url: str
             ) -> Iterator[Runtime]:
    with demo_runtime_with(db_url, tmp_path / "var", mailbox, pipeline, tasks_mode="external",
                           redis_url=redis_url) as rt:
        rt.queue = TaskQueue(RedisHuey(f"caredesk-test-{secrets.token_hex(6)}", url=redis_url, utc=True))
        _register_tasks(rt.queue)
        rt.clock = FrozenClock(T0)
        yield rt
        rt.queue.huey.flush()
        rt.live.close()


def consumer(queue: TaskQueue) -> EmbeddedConsumer:
    return EmbeddedConsumer(queue.huey, workers=2, worker_type="thread", periodic=False, check_worker_health=False)


def emails(rt: Runtime, *roles: str) -> Counter[str]:
    with rt.session_factory() as s:
        return Counter(s.scalars(select(Staff.email).where(Staff.role.in_(roles), Staff.active)))


def test_alarm_queue_redis_consumers_deliver_once_and_escalate(redis_rt: Runtime, mailbox: Mailbox,
                                                               redis_url: str) -> None:
    rt = redis_rt
    other = TaskQueue(RedisHuey(rt.queue.huey.name, url=redis_url, utc=True))  # a second worker process
    _register_tasks(other)
    listener = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(CHANNEL)

    first = do_receive_message(rt, IncomingMessage(THREATS_ZH[0], "web", "cust-redis"))
    for text in THREATS_ZH[1:]:
        outcome = do_receive_message(rt, IncomingMessage(text, "web", "cust-redis", first.conversation_id))
    alarm_id = str(outcome.alarm_id)
    huey = rt.queue.huey
    # Recorded with the alarm as a delayed outbox event: nothing on the queue until its time.
    assert [t for t in huey.pending() if t.name == rt.queue.name_of(escalate_alarm)] == []
    with rt.session_factory() as s:
        waiting = s.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "alarms.escalation_due",
                                                      OutboxEvent.dispatched_at.is_(None))).all()
    assert [(w.payload["data"]["alarm_id"], w.available_at) for w in waiting] == [(alarm_id,
                                                                                  T0 + timedelta(minutes=15))]
    with rt.session_factory() as s:
        email_ids = list(s.scalars(select(AlarmDelivery.id).where(AlarmDelivery.alarm_id == alarm_id,
                                                                  AlarmDelivery.channel == "email")))
    for delivery_id in email_ids:  # each notice delivered a second time, by the other worker
        other.enqueue(deliver_alarm_notice, delivery_id)
    leads = emails(rt, "team_lead")
    with running(consumer(rt.queue), consumer(other)):
        mailbox.wait_for(sum(leads.values()))
        wait_until(lambda: huey.pending_count() == 0, "the queue to drain")
        assert relay_once(rt.uow, rt.subscribers, now=rt.clock.now()).claimed == 0  # not due yet
        rt.clock.advance(timedelta(minutes=15))  # type: ignore[attr-defined]
        assert relay_once(rt.uow, rt.subscribers, now=rt.clock.now()).dispatched == 1  # the check comes due
        other.enqueue(escalate_alarm, alarm_id, 0)  # and is redelivered
        # alarm e-mails only: the emergency's invitations arrive in the same mailbox at their own pace
        escalated = sum(leads.values()) + sum(emails(rt, "admin", "complaint_manager").values())
        wait_until(lambda: sum(1 for m in list(mailbox.messages) if m["X-CareDesk-Alarm"]) >= escalated,
                   "the escalated e-mails", timeout=30)
        wait_until(lambda: huey.pending_count() == 0, "the queue to drain")

    # alarm e-mails only: the regulator threats also started the complaint roster's emergency (one meeting for
    # the conversation), whose invitations are separate messages
    sent_to = Counter(addr for m in mailbox.messages if m["X-CareDesk-Alarm"]
                      for _, addr in getaddresses(m.get_all("To", [])))
    assert sent_to == leads + emails(rt, "admin", "complaint_manager")  # once each, both levels
    with rt.session_factory() as s:
        alarm = s.get(Alarm, alarm_id)
        assert alarm is not None and alarm.escalation_level == 1
        statuses = Counter(d.status for d in s.scalars(select(AlarmDelivery).where(
            AlarmDelivery.alarm_id == alarm_id, AlarmDelivery.channel == "email")))
    assert statuses == Counter({"sent": sum(leads.values()) + 2})

    events = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:  # None also answers the (ignored) subscribe confirmation: keep reading
        message = listener.get_message(timeout=0.2)
        if message is not None:
            events.append(json.loads(message["data"]))
    listener.close()
    alarm_events = [e for e in events if e.get("type") == "alarm" and e.get("alarm_id") == alarm_id]
    assert [e["change"] for e in alarm_events] == ["raised", "escalated"]
