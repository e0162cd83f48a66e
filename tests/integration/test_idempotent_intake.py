"""Intake with an Idempotency-Key, on SQLite and PostgreSQL: a retry replays the first answer and creates
nothing; the key is kept in the message's transaction (a failed intake keeps none); keys expire after 24 hours
(clock passed in) and are purged by the retention run; concurrent requests with one key create one message."""

from __future__ import annotations

import sys
import threading
import time
import traceback
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.compliance.retention import RetentionPolicy, do_apply_retention
from caredesk.errors import IdempotencyKeyReused, NotFound
from caredesk.intake.actions import IncomingMessage, IntakeOutcome
from caredesk.intake.idempotency import IdempotentRequest, StoredResponse
from caredesk.intake.idempotency_store import KeyClaim
from caredesk.intake.idempotent import IdempotentAnswer, do_receive_message_once
from caredesk.storage.orm import Alarm, EmergencyMeeting, IdempotencyRecord, Message, OutboxEvent, WorkOrder

COMPLAINT = IncomingMessage("你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法", "web", "idem-1")
PAYLOAD = {"text": COMPLAINT.text, "channel": "web", "customer_ref": "idem-1"}


def render(o: IntakeOutcome) -> StoredResponse:
    return StoredResponse(201, {"message_id": o.message_id, "work_order_id": o.work_order_id,
                                "alarm_id": o.alarm_id, "reply": o.reply_text})


def counts(rt: Runtime) -> dict[str, int]:
    with rt.session_factory() as s:
        return {m.__name__: int(s.scalar(select(func.count()).select_from(m)) or 0)
                for m in (Message, WorkOrder, Alarm, EmergencyMeeting, OutboxEvent, IdempotencyRecord)}


def once(rt: Runtime, cmd: IncomingMessage = COMPLAINT, key: str = "retry-1", scope: str = "api_key:a",
         payload: dict[str, Any] = PAYLOAD) -> IdempotentAnswer:
    return do_receive_message_once(rt, cmd, IdempotentRequest.of(scope, key, payload), render)


def test_a_retry_replays_the_first_answer_and_creates_nothing(demo_runtime: Runtime) -> None:
    first = once(demo_runtime)
    assert not first.replayed and first.response.status == 201 and first.response.body["work_order_id"]
    before = counts(demo_runtime)
    assert before["Message"] == 2 and before["WorkOrder"] == 1 and before["IdempotencyRecord"] == 1
    again = once(demo_runtime)
    assert again.replayed and again.response == first.response
    assert counts(demo_runtime) == before  # no message, work order, alarm, meeting or event


def test_the_same_key_with_another_body_is_refused(demo_runtime: Runtime) -> None:
    once(demo_runtime)
    before = counts(demo_runtime)
    other = IncomingMessage("How do I reset my online banking password?", "web", "idem-1")
    with pytest.raises(IdempotencyKeyReused) as refused:
        once(demo_runtime, other, payload=PAYLOAD | {"text": other.text})
    assert refused.value.status == 409 and refused.value.code == "idempotency_key_reused"
    assert counts(demo_runtime) == before


def test_keys_are_scoped_to_the_caller(demo_runtime: Runtime) -> None:
    a, b = once(demo_runtime, scope="api_key:a"), once(demo_runtime, scope="api_key:b")
    assert not a.replayed and not b.replayed and a.response.body["message_id"] != b.response.body["message_id"]
    assert counts(demo_runtime)["IdempotencyRecord"] == 2


def test_a_failed_intake_keeps_no_key_and_its_retry_runs_afresh(demo_runtime: Runtime) -> None:
    lost = IncomingMessage(COMPLAINT.text, "web", "idem-1", conversation_id="no-such-conversation")
    payload = PAYLOAD | {"conversation_id": "no-such-conversation"}
    with pytest.raises(NotFound):  # raised after the key was taken, inside the transaction: rolled back with it
        once(demo_runtime, lost, payload=payload)
    assert counts(demo_runtime)["IdempotencyRecord"] == 0
    with pytest.raises(NotFound):  # processed again, not replayed as an error
        once(demo_runtime, lost, payload=payload)
    fresh = once(demo_runtime)  # the key is free: another body is a new request, not a reuse
    assert not fresh.replayed and counts(demo_runtime)["Message"] == 2


def test_keys_expire_after_24_hours_and_retention_purges_them(demo_runtime: Runtime) -> None:
    clock = FrozenClock(demo_runtime.clock.now())
    demo_runtime.clock = clock
    first = once(demo_runtime)
    clock.advance(timedelta(hours=23, minutes=59))
    assert once(demo_runtime).replayed
    assert do_apply_retention(demo_runtime.uow(), RetentionPolicy(), now=clock.now()).idempotency_keys == 0
    clock.advance(timedelta(minutes=1))  # 24 hours: expired, ignored, and the key's next use is a new request
    later = once(demo_runtime)
    assert not later.replayed and later.response.body["message_id"] != first.response.body["message_id"]
    assert counts(demo_runtime)["IdempotencyRecord"] == 1  # the expired row gave way to the new one
    once(demo_runtime, key="retry-2")
    clock.advance(timedelta(hours=24))
    report = do_apply_retention(demo_runtime.uow(), RetentionPolicy(), now=clock.now())
    assert report.idempotency_keys == 2 and counts(demo_runtime)["IdempotencyRecord"] == 0


def test_concurrent_requests_with_one_key_create_one_message(demo_runtime: Runtime) -> None:
    start = threading.Barrier(3)
    answers: list[IdempotentAnswer] = []
    failures: list[BaseException] = []

    def post() -> None:
        try:
            start.wait(timeout=10)
            answers.append(once(demo_runtime))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=post) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == [] and len(answers) == 3
    assert sorted(a.replayed for a in answers) == [False, True, True]
    assert len({a.response.body["message_id"] for a in answers}) == 1
    assert counts(demo_runtime)["Message"] == 2 and counts(demo_runtime)["WorkOrder"] == 1


def _held_claim(rt: Runtime) -> tuple[Any, KeyClaim[str]]:
    """Another connection's transaction that has taken the key and not yet committed."""
    session = rt.session_factory()
    claim: KeyClaim[str] = KeyClaim(IdempotentRequest.of("api_key:a", "retry-1", PAYLOAD),
                                    lambda _: StoredResponse(201, {"message_id": "from-the-first"}))
    claim.take(session, now=rt.clock.now())
    session.flush()
    return session, claim


def _wait_until_blocked(rt: Runtime, worker: threading.Thread, failures: list[BaseException]) -> None:
    deadline = time.monotonic() + 120  # triage and the knowledge search come first: slow on a loaded machine
    with rt.engine.connect() as conn:
        while time.monotonic() < deadline and worker.is_alive():
            waiting = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND wait_event_type = 'Lock'")).scalar_one()
            conn.rollback()  # pg_stat_activity is read once per transaction: a new one sees the wait when it starts
            if waiting:
                return
            time.sleep(0.05)
    state = "finished without waiting"
    if worker.is_alive():  # where it is instead: the next reader of a failure needs the stack, not a guess
        frame = sys._current_frames().get(worker.ident or -1)
        state = "still running after 120 s, at:\n" + "".join(traceback.format_stack(frame)[-12:] if frame else [])
    raise AssertionError(f"the second request never waited for the first one's key ({state}): {failures}")


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("first_commits", [True, False])
def test_a_request_waits_for_the_key_held_by_another_transaction(demo_runtime: Runtime,
                                                                 first_commits: bool) -> None:
    demo_runtime.knowledge_index()  # built before: the worker's wait is then all that takes time
    session, claim = _held_claim(demo_runtime)
    answers: list[IdempotentAnswer] = []
    failures: list[BaseException] = []

    def post() -> None:
        try:
            answers.append(once(demo_runtime))
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=post)
    try:
        worker.start()
        _wait_until_blocked(demo_runtime, worker, failures)  # its insert waits on the first transaction's row
        if first_commits:
            claim.keep("done")
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()
    worker.join(timeout=60)
    assert failures == [] and len(answers) == 1
    if first_commits:  # the waiting request replays the first answer and does nothing itself
        assert answers[0].replayed and answers[0].response.body == {"message_id": "from-the-first"}
        assert counts(demo_runtime)["Message"] == 0
    else:  # the first gave up: the waiting request is the first to use the key
        assert not answers[0].replayed and counts(demo_runtime)["Message"] == 2
