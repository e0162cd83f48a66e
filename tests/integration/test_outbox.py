"""The transactional outbox on real databases (SQLite and PostgreSQL): an event recorded in a rolled-back action
leaves no row; a committed one is dispatched at once and marked; a failing subscriber leaves the row and the
relay delivers it after the backoff; a process that dies between its commit and the marking leaves the row to
a relay in another runtime; two relays on PostgreSQL never dispatch a row twice; and the alarm e-mail survives
a crash between the commit and the send (real SMTP)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from caredesk.alarms.events import NoticeDue
from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.events import DomainEvent, Subscribers, domain_event
from caredesk.storage.orm import AlarmDelivery, OutboxEvent
from caredesk.storage.outbox import LEASE, outbox_status, relay_once
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox, make_settings
from tests.integration.test_alarm_strategy import THREATS_ZH, converse, emails_of

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@domain_event("tests.ping")
@dataclass(frozen=True)
class Ping(DomainEvent):
    n: int


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    runtime.clock = FrozenClock(T0)
    return runtime


def rows(rt: Runtime, event_type: str = "tests.ping") -> list[OutboxEvent]:
    with rt.session_factory() as s:
        return list(s.scalars(select(OutboxEvent).where(OutboxEvent.event_type == event_type)
                              .order_by(OutboxEvent.id)))


def test_outbox_rolled_back_action_leaves_no_row_and_sends_nothing(rt: Runtime) -> None:
    seen: list[int] = []
    rt.subscribers.subscribe(Ping, lambda e: seen.append(e.n))
    with pytest.raises(RuntimeError), rt.uow() as uow:
        uow.record(Ping(1))
        uow.session.flush()  # the row was written inside the transaction...
        raise RuntimeError("the action fails after recording")
    assert rows(rt) == [] and seen == []  # ...and went with it


def test_outbox_committed_event_dispatched_at_once_and_marked(rt: Runtime) -> None:
    seen: list[int] = []
    rt.subscribers.subscribe(Ping, lambda e: seen.append(e.n))
    with rt.uow() as uow:
        uow.record(Ping(1))
        uow.record(Ping(2))
        uow.commit()
    assert seen == [1, 2]
    (first, second) = rows(rt)
    assert (first.dispatched_at, first.attempts, first.locked_until, first.last_error) == (T0, 1, None, None)
    assert first.payload == {"v": 1, "data": {"n": 1}} and second.dispatched_at == T0
    assert relay_once(rt.uow, rt.subscribers, now=T0 + timedelta(hours=1)).claimed == 0  # nothing left
    assert seen == [1, 2]


def test_outbox_delayed_event_waits_for_its_time(rt: Runtime) -> None:
    seen: list[int] = []
    rt.subscribers.subscribe(Ping, lambda e: seen.append(e.n))
    with rt.uow() as uow:
        uow.record(Ping(7), available_at=T0 + timedelta(minutes=15))
        uow.commit()
    assert seen == [] and rows(rt)[0].dispatched_at is None
    assert relay_once(rt.uow, rt.subscribers, now=T0 + timedelta(minutes=14)).claimed == 0
    with rt.session_factory() as s:
        assert outbox_status(s, now=T0).delayed == 1
    assert relay_once(rt.uow, rt.subscribers, now=T0 + timedelta(minutes=15)).dispatched == 1
    assert seen == [7] and rows(rt)[0].dispatched_at == T0 + timedelta(minutes=15)


def test_outbox_failed_subscriber_leaves_row_and_relay_delivers_after_backoff(rt: Runtime) -> None:
    seen: list[int] = []
    failures = [OSError("smtp 451 for lead@demo-bank.example")]

    def flaky(e: Ping) -> None:
        if failures:
            raise failures.pop()
        seen.append(e.n)

    rt.subscribers.subscribe(Ping, flaky, name="mail")
    with rt.uow() as uow:
        uow.record(Ping(3))
        uow.commit()  # the action's data is committed: the subscriber's failure is not the caller's
    (row,) = rows(rt)
    assert (row.dispatched_at, row.attempts, row.locked_until) == (None, 1, None)
    assert row.last_error is not None and "OSError" in row.last_error
    assert row.available_at == T0 + timedelta(seconds=10)
    with rt.session_factory() as s:
        status = outbox_status(s, now=T0)
    assert (status.failing, status.delayed, status.pending) == (1, 1, 0)
    assert relay_once(rt.uow, rt.subscribers, now=T0 + timedelta(seconds=9)).claimed == 0  # backing off
    report = relay_once(rt.uow, rt.subscribers, now=T0 + timedelta(seconds=10))
    assert (report.claimed, report.dispatched, report.failed) == (1, 1, [])
    assert seen == [3]
    (row,) = rows(rt)
    assert (row.dispatched_at, row.attempts) == (T0 + timedelta(seconds=10), 2)


def _fresh_runtime(rt: Runtime, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline, at: datetime
                   ) -> Runtime:
    """Another process: its own engine, queue and subscribers, on the same database."""
    other = build_runtime(make_settings(str(rt.engine.url.render_as_string(hide_password=False)),
                                        tmp_path / "var-after-crash", mailbox))
    other.set_pipeline(pipeline)
    other.clock = FrozenClock(at)
    return other


def test_outbox_dispatch_killed_before_marking_is_relayed_by_a_fresh_runtime(
        rt: Runtime, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> None:
    def die(e: Ping) -> None:
        raise Crash

    rt.subscribers = Subscribers()
    rt.subscribers.subscribe(Ping, die)
    with pytest.raises(Crash), rt.uow() as uow:
        uow.record(Ping(5))
        uow.commit()
    (row,) = rows(rt)
    assert row.dispatched_at is None and row.locked_until == T0 + LEASE  # committed, claimed, never marked

    seen: list[int] = []
    other = _fresh_runtime(rt, tmp_path, mailbox, pipeline, T0 + timedelta(seconds=30))
    try:
        other.subscribers.subscribe(Ping, lambda e: seen.append(e.n))
        assert relay_once(other.uow, other.subscribers, now=other.clock.now()).claimed == 0  # lease still held
        assert relay_once(other.uow, other.subscribers, now=T0 + LEASE).dispatched == 1
        assert seen == [5] and rows(other)[0].dispatched_at == T0 + LEASE
    finally:
        other.engine.dispose()


def test_outbox_alarm_email_survives_a_crash_between_commit_and_send(
        demo_runtime: Runtime, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> None:
    rt = demo_runtime
    rt.clock = FrozenClock(T0)
    real = rt.subscribers
    crashing = Subscribers()

    def die(e: NoticeDue) -> None:
        raise Crash

    crashing.subscribe(NoticeDue, die)
    converse(rt, THREATS_ZH[:2], ref="cust-crash")  # two threats: no alarm yet, their events go out
    rt.subscribers = crashing
    conversation_id = rows(rt, "intake.message_received")[0].payload["data"]["conversation_id"]
    from caredesk.intake.actions import IncomingMessage, do_receive_message

    with pytest.raises(Crash):  # the third raises the alarm; the process dies before any notice is sent
        do_receive_message(rt, IncomingMessage(THREATS_ZH[2], "web", "cust-crash", conversation_id))
    rt.subscribers = real
    assert not [m for m in mailbox.messages if m["X-CareDesk-Alarm"]]
    with rt.session_factory() as s:
        pending = s.scalars(select(AlarmDelivery).where(AlarmDelivery.channel == "email")).all()
    assert pending and {d.status for d in pending} == {"pending"}  # the alarm and its deliveries are committed

    other = _fresh_runtime(rt, tmp_path, mailbox, pipeline, T0 + LEASE)
    try:
        report = relay_once(other.uow, other.subscribers, now=other.clock.now())
        assert report.failed == [] and report.dispatched >= len(pending)
        leads = emails_of(other, "team_lead")
        alarm_mail = [m for m in mailbox.wait_for(len(leads)) if m["X-CareDesk-Alarm"]]
        assert Counter(str(m["To"]).split("<")[-1].rstrip(">") for m in alarm_mail) == Counter(leads)
        with other.session_factory() as s:
            sent = s.scalars(select(AlarmDelivery).where(AlarmDelivery.channel == "email")).all()
        assert {d.status for d in sent} == {"sent"}
        assert sorted(m["X-CareDesk-Notice"] for m in alarm_mail) == sorted(f"alarm_delivery:{d.id}" for d in sent)
        # a second relay finds nothing: every notice went once
        assert relay_once(other.uow, other.subscribers, now=other.clock.now()).claimed == 0
        assert len([m for m in mailbox.messages if m["X-CareDesk-Alarm"]]) == len(leads)
    finally:
        other.engine.dispose()


@pytest.fixture
def postgres_rt(db_url: str, rt: Runtime) -> Iterator[Runtime]:
    assert rt.engine.dialect.name == "postgresql"
    yield rt


# row locking (FOR UPDATE SKIP LOCKED) is PostgreSQL's; SQLite has one writer at a time
ON_POSTGRES = pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)],
                                      indirect=True)


def _record_unclaimed(rt: Runtime, count: int) -> None:
    with UnitOfWork(rt.session_factory, clock=rt.clock) as uow:  # no subscribers: everything waits for a relay
        for n in range(count):
            uow.record(Ping(n))
        uow.commit()


@ON_POSTGRES
def test_outbox_two_relays_on_postgres_never_dispatch_a_row_twice(postgres_rt: Runtime) -> None:
    rt = postgres_rt
    _record_unclaimed(rt, 60)
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()
    subs = Subscribers()

    def handle(e: Ping) -> None:
        with lock:
            seen.append((threading.current_thread().name, e.n))

    subs.subscribe(Ping, handle)
    start = threading.Barrier(2)

    def relay() -> None:
        start.wait()
        while relay_once(rt.uow, subs, now=T0, limit=7).claimed:
            pass

    threads = [threading.Thread(target=relay, name=f"relay-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(n for _, n in seen) == list(range(60))  # every event once, none twice
    assert all(r.dispatched_at is not None for r in rows(rt))


@ON_POSTGRES
def test_outbox_relay_skips_rows_another_relay_has_locked(postgres_rt: Runtime) -> None:
    rt = postgres_rt
    _record_unclaimed(rt, 4)
    seen: list[int] = []
    subs = Subscribers()
    subs.subscribe(Ping, lambda e: seen.append(e.n))
    ids = [r.id for r in rows(rt)]
    with rt.session_factory() as holder:  # another relay's claim transaction, still open
        holder.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(ids[:2])).with_for_update()).all()
        report = relay_once(rt.uow, subs, now=T0)  # does not wait for the lock: takes the others
        holder.rollback()
    assert (report.claimed, sorted(seen)) == (2, [2, 3])
    assert relay_once(rt.uow, subs, now=T0).dispatched == 2 and sorted(seen) == [0, 1, 2, 3]


# SQLite: one writer at a time; an action waiting for the process's write lock marks the previous one's events
ON_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _behind_a_waiting_action(rt: Runtime, second: Callable[[], None]) -> threading.Thread:
    """Commit Ping(1) while another thread waits for the write lock to run `second` (started, not joined)."""
    waiter = threading.Thread(target=second)
    with rt.uow() as uow:
        uow.record(Ping(1))
        waiter.start()
        deadline = time.monotonic() + 10
        while not rt._marks.others_waiting():  # the second action now queues for the lock
            assert time.monotonic() < deadline, "the second action never queued"
            time.sleep(0.005)
        uow.commit()
    return waiter


@ON_SQLITE
def test_outbox_marks_ride_in_the_waiting_actions_transaction(rt: Runtime) -> None:
    seen: list[int] = []
    rt.subscribers.subscribe(Ping, lambda e: seen.append(e.n))
    statements: list[str] = []

    def second() -> None:
        with rt.uow() as uow:
            uow.record(Ping(2))
            uow.commit()

    event.listen(rt.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    _behind_a_waiting_action(rt, second).join(10)
    assert seen == [1, 2]
    first, last = rows(rt)
    assert first.dispatched_at == T0 and last.dispatched_at == T0 and first.attempts == 1
    # two actions, three write transactions: the second carried the first's marks, then marked its own
    assert sum(1 for s in statements if s.startswith("BEGIN IMMEDIATE")) == 3
    assert relay_once(rt.uow, rt.subscribers, now=T0 + timedelta(hours=1)).claimed == 0


@ON_SQLITE
def test_outbox_marks_left_to_a_failing_action_are_still_written(rt: Runtime) -> None:
    rt.subscribers.subscribe(Ping, lambda e: None)
    failed: list[BaseException] = []

    def second() -> None:
        try:
            with rt.uow() as uow:
                uow.record(Ping(2))
                raise RuntimeError("the waiting action fails")
        except RuntimeError as exc:
            failed.append(exc)

    _behind_a_waiting_action(rt, second).join(10)
    assert failed and [(r.dispatched_at, r.attempts) for r in rows(rt)] == [(T0, 1)]  # only Ping(1) exists, marked
    assert relay_once(rt.uow, rt.subscribers, now=T0 + timedelta(hours=1)).claimed == 0
