"""Domain events and the outbox's pure rules: (de)serialisation by stored name and version, the subscribers'
dispatch, the retry backoff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from caredesk.alarms.events import AlarmChanged, EscalationDue, NoticeDue
from caredesk.events import (
    DispatchFailed,
    DomainEvent,
    EventError,
    RecordedEvents,
    Subscribers,
    decode,
    domain_event,
    encode,
    registered_events,
)
from caredesk.sla.events import SlaMarked
from caredesk.storage.outbox import Delivery, backoff, dispatch


def test_events_encode_decode_round_trip_by_stored_name() -> None:
    for event in (NoticeDue("d1"), EscalationDue("a1", 2), AlarmChanged("a1", "c1", "raised"),
                  SlaMarked("wo1", ("warning", "breach"))):
        name, payload = encode(event)
        assert payload["v"] == 1
        assert decode(name, payload) == event
    assert encode(EscalationDue("a1", 2)) == ("alarms.escalation_due",
                                               {"v": 1, "data": {"alarm_id": "a1", "from_level": 2}})


def test_events_decode_refuses_unknown_name_other_version_and_bad_payload() -> None:
    with pytest.raises(EventError, match="unknown event"):
        decode("alarms.nothing", {"v": 1, "data": {}})
    with pytest.raises(EventError, match="version 2"):
        decode("alarms.notice_due", {"v": 2, "data": {"delivery_id": "d1"}})
    with pytest.raises(EventError, match="does not match") as info:
        decode("alarms.escalation_due", {"v": 1, "data": {"alarm_id": "a1", "from_level": "secret-13800000000"}})
    assert "13800000000" not in str(info.value)  # the message names the field's problem, not its value


def test_events_registry_names_are_unique_and_frozen_dataclasses_only() -> None:
    assert registered_events()["alarms.notice_due"] is NoticeDue
    with pytest.raises(TypeError, match="taken"):
        @domain_event("alarms.notice_due")
        @dataclass(frozen=True)
        class Other(DomainEvent):
            x: str

    with pytest.raises(TypeError, match="frozen"):
        @domain_event("tests.mutable")
        @dataclass
        class Mutable(DomainEvent):
            x: str


def test_subscribers_run_every_handler_and_report_all_failures() -> None:
    seen: list[str] = []
    subs = Subscribers()

    def fail(e: NoticeDue) -> None:
        raise OSError("smtp down")

    subs.subscribe(NoticeDue, lambda e: seen.append("first:" + e.delivery_id), name="first")
    subs.subscribe(NoticeDue, fail, name="mail")
    subs.subscribe(NoticeDue, lambda e: seen.append("third:" + e.delivery_id), name="third")
    with pytest.raises(DispatchFailed) as info:
        subs.dispatch(NoticeDue("d1"))
    assert seen == ["first:d1", "third:d1"]  # the failure does not stop the others
    assert [label for label, _ in info.value.failures] == ["mail"]
    subs.dispatch(EscalationDue("a1", 0))  # no subscriber: nothing to do, not an error
    assert subs.handlers(NoticeDue) == ["first", "mail", "third"]


def test_dispatch_outcome_per_row_keeps_the_error_and_logs_no_message(caplog: pytest.LogCaptureFixture) -> None:
    subs = Subscribers()

    def fail(e: NoticeDue) -> None:
        raise OSError(f"550 mailbox unavailable: customer {e.delivery_id}")

    subs.subscribe(NoticeDue, fail)
    results = dispatch(subs, [(1, EscalationDue("a1", 0)), (2, NoticeDue("13800138000"))])
    assert results[0] == Delivery(1, "alarms.escalation_due")
    assert results[1].row_id == 2 and results[1].error is not None and "550" in results[1].error
    assert "13800138000" not in caplog.text and "OSError" in caplog.text


def test_task_hand_off_gets_the_row_id_and_leaves_the_row_to_its_task() -> None:
    queued: list[tuple[str, int | None]] = []
    subs = Subscribers()
    subs.subscribe_task(NoticeDue, lambda e, row: queued.append((e.delivery_id, row)), name="queue:notice")
    subs.subscribe(NoticeDue, lambda e: queued.append(("live", None)), name="live")
    with pytest.raises(ValueError, match="already hands off"):  # one task owns the row
        subs.subscribe_task(NoticeDue, lambda e, row: None)
    results = dispatch(subs, [(7, NoticeDue("d1")), (8, EscalationDue("a1", 0))])
    assert queued == [("live", None), ("d1", 7)]
    assert results == [Delivery(7, "alarms.notice_due", handed_off=True), Delivery(8, "alarms.escalation_due")]
    assert subs.handlers(NoticeDue) == ["live", "queue:notice"]
    assert subs.hands_off(NoticeDue) and not subs.hands_off(EscalationDue)


def test_backoff_doubles_from_ten_seconds_up_to_an_hour() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(seconds=s) for s in (10, 20, 40, 80)]
    assert backoff(0) == timedelta(seconds=10)
    assert backoff(9) == timedelta(seconds=2560)
    assert backoff(10) == backoff(30) == timedelta(hours=1)


def test_recorded_events_keep_order_and_availability() -> None:
    box = RecordedEvents()
    box.record(NoticeDue("d1"))
    box.record(EscalationDue("a1", 0), available_at=None)
    assert [e for e, _ in box.events] == [NoticeDue("d1"), EscalationDue("a1", 0)]
