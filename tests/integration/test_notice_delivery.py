"""Nothing lost, nothing sent twice unseen (issue 14): join notices on the real Redis queue and a real database
(SQLite and PostgreSQL), e-mailed to a real SMTP server (aiosmtpd).

- a task taken off the queue by a worker that dies is queued again by the relay once its outbox lease runs out;
- a commit that fails after the send leaves the notice claimed with the attempt counted, and the retry after the
  claim lapses sends again (the possible duplicate, counted);
- two workers running one notice send it once;
- an SMTP failure records `failed`, keeps the outbox row leased, and the queue's retry sends it."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import pytest
from huey import RedisHuey
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from caredesk.bootstrap import _register_tasks
from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.emergency.tasks import send_meeting_notice
from caredesk.storage.orm import MeetingParticipant, OutboxEvent, Staff
from caredesk.storage.outbox import TASK_LEASE, outbox_status, relay_once
from caredesk.tasks.app import TaskQueue
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox, _clean
from tests.integration.test_task_queue import _runtime, receive

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
LATER = datetime(2100, 1, 1)  # Huey's clock (naive UTC): every scheduled retry is due by then

pytestmark = pytest.mark.redis


@pytest.fixture
def rt(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline, redis_url: str
       ) -> Iterator[Runtime]:
    """Workers on Redis (a queue name of its own), nobody consuming: the test takes each task off the queue
    and runs it, or drops it as a dying worker would. The clock stands still unless the test moves it."""
    rt = _runtime(db_url, tmp_path / "var", mailbox, pipeline, tasks_mode="external", redis_url=redis_url)
    rt.queue = TaskQueue(RedisHuey(f"caredesk-test-{secrets.token_hex(6)}", url=redis_url, utc=True))
    _register_tasks(rt.queue)
    rt.clock = FrozenClock(T0)
    yield rt
    rt.queue.huey.flush()
    rt.live.close()
    _clean(rt)
    rt.engine.dispose()


def take(rt: Runtime) -> Any:
    task = rt.queue.huey.dequeue()
    assert task is not None, "the queue is empty"
    return task


def run(rt: Runtime, task: Any) -> None:
    rt.queue.huey.execute(task, timestamp=LATER)


def run_queued(rt: Runtime) -> int:
    """Run whatever is queued or scheduled (a retry), as a worker would; how many tasks ran."""
    huey, n = rt.queue.huey, 0
    for task in huey.read_schedule(LATER):
        huey.enqueue(task)
    while (task := huey.dequeue()) is not None:
        run(rt, task)
        n += 1
    return n


def notices(rt: Runtime, meeting_id: str) -> dict[str, MeetingParticipant]:
    with rt.session_factory() as s:
        return {p.id: p for p in s.scalars(select(MeetingParticipant).where(MeetingParticipant.meeting_id
                                                                             == meeting_id))}


def outbox_row(rt: Runtime, participant_id: str) -> OutboxEvent:
    with rt.session_factory() as s:
        rows = [r for r in s.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "emergency.invitation_due"))
                if r.payload["data"]["participant_id"] == participant_id]
    assert len(rows) == 1
    return rows[0]


def sent_to(rt: Runtime, mailbox: Mailbox) -> Counter[str]:
    return Counter(addr for m in mailbox.messages for _, addr in getaddresses(m.get_all("To", [])))


def email_of(rt: Runtime, participant: MeetingParticipant) -> str:
    with rt.session_factory() as s:
        staff = s.get(Staff, participant.staff_id)
        assert staff is not None
        return staff.email


def start_meeting(rt: Runtime) -> tuple[str, list[Any]]:
    """An urgent message: a meeting, and one join-notice task queued per participant (with its row's id)."""
    outcome = receive(rt)
    assert outcome.decision.kind == "emergency" and outcome.meeting_id
    huey = rt.queue.huey
    taken = [take(rt) for _ in range(huey.pending_count())]
    tasks = [t for t in taken if t.name != "profiles.refresh"]  # the customer's profile refresh is queued too
    assert tasks and {t.name for t in tasks} == {"emergency.send_meeting_notice"} and len(taken) == len(tasks) + 1
    return outcome.meeting_id, tasks


def test_notice_task_lost_with_its_worker_is_sent_after_the_relay_runs_past_the_lease(
        rt: Runtime, mailbox: Mailbox) -> None:
    meeting_id, tasks = start_meeting(rt)
    lost, *others = tasks  # a worker took the first off Redis and died: the message is gone
    participant_id, row_id = lost.args
    assert row_id == outbox_row(rt, participant_id).id
    for task in others:
        run(rt, task)
    row = outbox_row(rt, participant_id)
    assert row.dispatched_at is None and row.locked_until == T0 + TASK_LEASE  # queued, not done
    assert all(outbox_row(rt, t.args[0]).dispatched_at is not None for t in others)  # done with their tasks
    assert notices(rt, meeting_id)[participant_id].email_status == "pending"
    with rt.session_factory() as s:  # what `caredesk outbox status` shows meanwhile
        status = outbox_status(s, now=T0)
        assert (status.leased, status.pending, status.failing) == (1, 0, 0)
        assert outbox_status(s, now=T0 + TASK_LEASE).pending == 1  # the lease has run out: the relay's

    assert relay_once(rt.uow, rt.subscribers, now=T0 + TASK_LEASE - timedelta(seconds=1)).claimed == 0
    rt.clock = FrozenClock(T0 + TASK_LEASE)
    assert relay_once(rt.uow, rt.subscribers, now=rt.clock.now()).dispatched == 1  # queued again
    assert run_queued(rt) == 1

    people = notices(rt, meeting_id)
    assert {p.email_status for p in people.values()} == {"sent"}
    assert [p.email_attempts for p in people.values()] == [1] * len(people)
    assert sent_to(rt, mailbox) == Counter({email_of(rt, p): 1 for p in people.values()})
    row = outbox_row(rt, participant_id)
    assert row.dispatched_at == T0 + TASK_LEASE and row.attempts == 2  # the hand-off and the relay's
    assert relay_once(rt.uow, rt.subscribers, now=T0 + 3 * TASK_LEASE).claimed == 0  # nothing left


def test_notice_commit_failing_after_the_send_leaves_the_claim_and_the_retry_sends_again_counted(
        rt: Runtime, mailbox: Mailbox) -> None:
    meeting_id, (first, *others) = start_meeting(rt)
    participant_id = first.args[0]
    armed = threading.Event()

    def connections_lost(conn: Any) -> None:  # the next commit after the SMTP server took the mail fails
        if armed.is_set():
            armed.clear()
            raise OperationalError("COMMIT", {}, Exception("terminating connection due to administrator command"))

    mailbox.on_receive = armed.set
    event.listen(rt.engine, "commit", connections_lost)
    try:
        run(rt, first)  # sent, then the record's commit fails: the queue schedules its retry
    finally:
        event.remove(rt.engine, "commit", connections_lost)
        mailbox.on_receive = None
    notice = notices(rt, meeting_id)[participant_id]
    assert len(mailbox.messages) == 1
    assert (notice.email_status, notice.email_attempts, notice.email_sent_at) == ("sending", 1, None)
    assert notice.email_claimed_until == T0 + rt.settings.notice_claim
    assert outbox_row(rt, participant_id).dispatched_at is None

    assert run_queued(rt) == 1  # the queue's retry while the claim is live: skipped, not sent
    assert len(mailbox.messages) == 1 and notices(rt, meeting_id)[participant_id].email_attempts == 1
    for task in others:
        run(rt, task)

    rt.clock = FrozenClock(T0 + TASK_LEASE)  # the claim has lapsed, and the outbox lease with it
    assert relay_once(rt.uow, rt.subscribers, now=rt.clock.now()).dispatched == 1
    assert run_queued(rt) == 1
    notice = notices(rt, meeting_id)[participant_id]
    assert (notice.email_status, notice.email_attempts, notice.email_claimed_until) == ("sent", 2, None)
    address = email_of(rt, notice)
    assert sent_to(rt, mailbox)[address] == 2  # the second send: possible only here, and counted
    duplicates = sum(p.email_attempts - 1 for p in notices(rt, meeting_id).values())
    assert duplicates == sum(sent_to(rt, mailbox).values()) - len(notices(rt, meeting_id)) == 1
    assert outbox_row(rt, participant_id).dispatched_at == T0 + TASK_LEASE


def test_notice_two_workers_on_one_notice_send_it_once(rt: Runtime, mailbox: Mailbox) -> None:
    meeting_id, tasks = start_meeting(rt)
    participant_id, row_id = tasks[0].args
    in_smtp = threading.Event()

    def slow_server() -> None:  # the first worker is mid-send while the second one starts
        in_smtp.set()
        time.sleep(0.5)

    mailbox.on_receive = slow_server
    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(send_meeting_notice(participant_id, row_id)))
    first.start()
    assert in_smtp.wait(15)
    results.append(send_meeting_notice(participant_id, row_id))
    first.join(15)
    assert sorted(results) == ["claimed", "sent"]
    notice = notices(rt, meeting_id)[participant_id]
    assert (notice.email_status, notice.email_attempts) == ("sent", 1)
    assert len(mailbox.messages) == 1 and outbox_row(rt, participant_id).dispatched_at is not None
    assert send_meeting_notice(participant_id, row_id) == "skipped"  # and later runs find it sent


def test_notice_smtp_failure_records_failed_and_the_queue_retry_sends_it(rt: Runtime, mailbox: Mailbox) -> None:
    meeting_id, (first, *_) = start_meeting(rt)
    participant_id = first.args[0]
    mailbox.fail_next = 1
    run(rt, first)
    notice = notices(rt, meeting_id)[participant_id]
    assert (notice.email_status, notice.email_attempts, notice.email_claimed_until) == ("failed", 1, None)
    assert notice.email_error and "451" in notice.email_error and mailbox.messages == []
    row = outbox_row(rt, participant_id)
    assert row.dispatched_at is None and row.locked_until == T0 + TASK_LEASE and "451" in (row.last_error or "")
    assert rt.queue.huey.scheduled_count() == 1  # the queue's own retry

    rt.clock = FrozenClock(T0 + timedelta(seconds=30))
    assert run_queued(rt) >= 1
    notice = notices(rt, meeting_id)[participant_id]
    assert (notice.email_status, notice.email_attempts, notice.email_error) == ("sent", 2, None)
    assert sent_to(rt, mailbox)[email_of(rt, notice)] == 1
    assert outbox_row(rt, participant_id).dispatched_at == T0 + timedelta(seconds=30)
