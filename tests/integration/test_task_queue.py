"""The real background queue, not immediate mode: the embedded SQLite-backed Huey consumer inside the
process, and two competing consumers on Redis. Join notices are delivered once per participant even when
the same task is delivered twice, and an action that fails enqueues nothing."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import pytest
from huey import Huey, RedisHuey, SqliteHuey
from huey.constants import EmptyData
from sqlalchemy import func, select

from caredesk.analytics.team_forecast import STORE_KEY
from caredesk.bootstrap import _register_tasks, build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.demo.loader import do_load_demo
from caredesk.emergency.tasks import send_meeting_notice
from caredesk.errors import NotFound
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.storage.orm import EmergencyMeeting, MeetingParticipant, Message, Staff
from caredesk.tasks.app import EmbeddedConsumer, TaskQueue, start_embedded_consumer
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox, _clean, make_settings

URGENT = "我的银行卡刚刚被盗刷了两万元，不是我本人操作，请立即冻结！"


def _runtime(db_url: str, var_dir: Path, mailbox: Mailbox, pipeline: TriagePipeline, **overrides: Any
             ) -> Runtime:
    rt = build_runtime(make_settings(db_url, var_dir, mailbox, **overrides))
    rt.set_pipeline(pipeline)
    do_load_demo(rt.uow(), rt.clock)
    return rt


@pytest.fixture
def embedded_runtime(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline
                     ) -> Iterator[Runtime]:
    rt = _runtime(db_url, tmp_path / "var", mailbox, pipeline, tasks_mode="embedded")
    yield rt
    rt.queue.huey.flush()
    _clean(rt)
    rt.engine.dispose()


@pytest.fixture
def redis_runtime(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline, redis_url: str
                  ) -> Iterator[Runtime]:
    """External mode on Redis, with a queue name of its own so no other test run shares it."""
    rt = _runtime(db_url, tmp_path / "var", mailbox, pipeline, tasks_mode="external", redis_url=redis_url)
    rt.queue = TaskQueue(RedisHuey(f"caredesk-test-{secrets.token_hex(6)}", url=redis_url, utc=True))
    _register_tasks(rt.queue)
    yield rt
    rt.queue.huey.flush()
    rt.live.close()
    _clean(rt)
    rt.engine.dispose()


@contextmanager
def running(*consumers: EmbeddedConsumer) -> Iterator[None]:
    for consumer in consumers:
        if not consumer.scheduler.is_alive():
            consumer.start()
    try:
        yield
    finally:
        for consumer in consumers:
            consumer.stop(graceful=True)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def receive(rt: Runtime, text: str = URGENT, ref: str = "cust-queue", conversation_id: str | None = None
            ) -> IntakeOutcome:
    return do_receive_message(rt, IncomingMessage(text, "web", ref, conversation_id))


def participants(rt: Runtime, meeting_id: str) -> list[tuple[MeetingParticipant, Staff]]:
    with rt.session_factory() as s:
        meeting = s.get(EmergencyMeeting, meeting_id)
        assert meeting is not None
        return [(p, s.get(Staff, p.staff_id)) for p in meeting.participants]  # type: ignore[misc]


def task_results(huey: Huey) -> list[Any]:
    """The tasks' results (the store also keeps the periodic sweeps' once-a-minute claims, and the team forecast
    that the hourly task at minute 12 puts there when the consumer runs across it)."""
    return [huey.serializer.deserialize(v) for k, v in huey.all_results().items()
            if not str(k).startswith(("once:", "b'once:", STORE_KEY, f"b'{STORE_KEY}"))]


def assert_one_email_each(rt: Runtime, mailbox: Mailbox, meeting_id: str, tasks_run: int) -> None:
    """Every enqueued task has finished; each participant got exactly one e-mail and is marked sent."""
    people = participants(rt, meeting_id)
    huey = rt.queue.huey
    wait_until(lambda: len(task_results(huey)) >= tasks_run, f"{tasks_run} task results")
    wait_until(lambda: all(p.email_status == "sent" for p, _ in participants(rt, meeting_id)),
               "all notices sent")
    assert huey.pending_count() == 0
    results = Counter(task_results(huey))
    # a second run skips: the notice is sent, or claimed by the worker sending it (tasks/notice.py)
    assert results["sent"] == len(people) and set(results) <= {"sent", "skipped", "claimed"}
    assert results["skipped"] + results["claimed"] == tasks_run - len(people)
    to = Counter(addr for m in mailbox.messages for _, addr in getaddresses(m.get_all("To", [])))
    assert to == Counter({staff.email: 1 for _, staff in people})
    assert [p.email_attempts for p, _ in participants(rt, meeting_id)] == [1] * len(people)


def test_task_queue_embedded_consumer_delivers_each_notice_once(embedded_runtime: Runtime,
                                                                mailbox: Mailbox) -> None:
    rt = embedded_runtime
    huey = rt.queue.huey
    assert isinstance(huey, SqliteHuey) and not huey.immediate
    assert Path(huey.storage.filename).parent == rt.settings.var_dir
    consumer = start_embedded_consumer(huey)
    with running(consumer):
        outcome = receive(rt)
        assert outcome.decision.kind == "emergency" and outcome.meeting_id
        people = participants(rt, outcome.meeting_id)
        assert len(people) >= 3
        for participant, _ in people:  # each notice delivered a second time (a retry racing a resend)
            rt.queue.enqueue(send_meeting_notice, participant.id)
        mailbox.wait_for(len(people))
        assert_one_email_each(rt, mailbox, outcome.meeting_id, tasks_run=2 * len(people))
    assert len(mailbox.messages) == len(people)


@pytest.mark.redis
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_task_queue_two_redis_consumers_deliver_each_notice_once(redis_runtime: Runtime, mailbox: Mailbox,
                                                                 redis_url: str) -> None:
    rt = redis_runtime
    huey = rt.queue.huey
    assert isinstance(huey, RedisHuey)
    # A second worker process's view of the same queue: its own Huey instance and connections, same name.
    other = TaskQueue(RedisHuey(huey.name, url=redis_url, utc=True))
    _register_tasks(other)
    first = EmbeddedConsumer(huey, workers=2, worker_type="thread", periodic=False, check_worker_health=False)
    second = EmbeddedConsumer(other.huey, workers=2, worker_type="thread", periodic=False,
                              check_worker_health=False)
    with running(first, second):
        outcome = receive(rt)
        assert outcome.decision.kind == "emergency" and outcome.meeting_id
        people = participants(rt, outcome.meeting_id)
        for participant, _ in people:
            rt.queue.enqueue(send_meeting_notice, participant.id)
            other.enqueue(send_meeting_notice, participant.id)
        mailbox.wait_for(len(people))
        assert_one_email_each(rt, mailbox, outcome.meeting_id, tasks_run=3 * len(people))
    assert len(mailbox.messages) == len(people)


def test_task_queue_failed_action_enqueues_nothing(embedded_runtime: Runtime, mailbox: Mailbox,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    rt = embedded_runtime  # no consumer: whatever is enqueued stays in the queue
    huey = rt.queue.huey
    assert huey.pending_count() == 0

    with pytest.raises(NotFound):
        receive(rt, conversation_id="no-such-conversation")
    assert huey.pending_count() == 0

    def broken_watch(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the alarm watch failed after the meeting was created")

    monkeypatch.setattr("caredesk.intake.actions.do_watch_conversation", broken_watch)
    with pytest.raises(RuntimeError):
        receive(rt)
    assert huey.pending_count() == 0
    with rt.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(EmergencyMeeting)) == 0
        assert s.scalar(select(func.count()).select_from(MeetingParticipant)) == 0
        assert s.scalar(select(func.count()).select_from(Message)) == 0
    monkeypatch.undo()

    outcome = receive(rt)  # the same message succeeding enqueues one notice per participant
    assert outcome.meeting_id
    pending = Counter(str(task.name) for task in huey.pending())
    assert pending == {"emergency.send_meeting_notice": len(participants(rt, outcome.meeting_id)),
                       "profiles.refresh": 1}  # and the customer's profile refresh
    assert mailbox.messages == []


@pytest.mark.parametrize("store", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_task_queue_a_periodic_sweep_runs_once_a_minute_across_workers(store: str, tmp_path: Path,
                                                                       request: pytest.FixtureRequest) -> None:
    """Every worker's scheduler fires the minute's sweep; only the first to ask may do it."""
    from datetime import UTC, datetime

    name = f"caredesk-test-{secrets.token_hex(6)}"

    def queue() -> TaskQueue:
        if store == "redis":
            return TaskQueue(RedisHuey(name, url=request.getfixturevalue("redis_url"), utc=True))
        return TaskQueue(SqliteHuey(name, filename=str(tmp_path / "tasks.db"), utc=True))

    one, two = queue(), queue()  # two worker processes sharing the queue's store
    minute = datetime(2026, 12, 7, 9, 30, 5, tzinfo=UTC)
    assert one.first_this_minute("sla_sweep", minute) is True
    assert two.first_this_minute("sla_sweep", minute.replace(second=40)) is False
    assert one.first_this_minute("other_sweep", minute) is True  # each sweep has its own claim
    later = minute.replace(minute=31)
    assert two.first_this_minute("sla_sweep", later) is True
    assert one.first_this_minute("sla_sweep", later) is False
    one.first_this_minute("sla_sweep", minute.replace(minute=33))
    assert one.huey.storage.peek_data(f"once:sla_sweep:{minute.replace(second=0).isoformat()}") is EmptyData
