"""The workbench queue order (pinned emergencies, then alarms, then priority, SLA due time, newest activity)
and the priority reasons as keys the pages translate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from caredesk.workorders.model import priority_of
from caredesk.workorders.queue_order import QueueFacts, Reason, ordered, queue_key, reason_keys

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def facts(*, emergency: bool = False, alarmed: bool = False, priority: int = 3, due: int | None = None,
          active: int = 0) -> QueueFacts:
    return QueueFacts(emergency=emergency, alarmed=alarmed, priority=priority,
                      next_due_at=T0 + timedelta(minutes=due) if due is not None else None,
                      last_activity=T0 + timedelta(minutes=active))


def test_queue_order_pins_emergency_then_alarm_above_any_priority() -> None:
    rows = {"p1-newest": facts(priority=1, active=50), "alarm": facts(alarmed=True, priority=5),
            "emergency": facts(emergency=True, priority=4, active=-100), "both": facts(emergency=True,
                                                                                       alarmed=True, priority=2)}
    assert ordered(rows, rows.__getitem__) == ["both", "emergency", "alarm", "p1-newest"]


def test_queue_order_priority_then_due_time_none_last_then_newest() -> None:
    rows = {"p3-no-due": facts(priority=3, active=30), "p3-due-late": facts(priority=3, due=120),
            "p3-due-soon": facts(priority=3, due=10), "p2": facts(priority=2, due=500),
            "p3-no-due-older": facts(priority=3, active=5)}
    assert ordered(rows, rows.__getitem__) == ["p2", "p3-due-soon", "p3-due-late", "p3-no-due",
                                               "p3-no-due-older"]


def test_queue_order_compares_naive_utc_with_aware_times() -> None:
    """SQLite gives naive UTC, PostgreSQL aware times (any offset): the same moment sorts the same."""
    shanghai = timezone(timedelta(hours=8))
    aware = QueueFacts(False, False, 3, datetime(2026, 12, 6, 18, 0, tzinfo=shanghai), T0)  # 10:00 UTC
    naive_earlier = QueueFacts(False, False, 3, datetime(2026, 12, 6, 9, 30), T0.replace(tzinfo=None))
    assert queue_key(naive_earlier) < queue_key(aware)
    assert queue_key(facts(active=1))[4] < queue_key(facts(active=0))[4]  # newer activity first


def test_queue_order_is_stable_for_ties() -> None:
    same = facts(priority=2, due=10, active=3)
    assert ordered(["a", "b", "c"], lambda _: same) == ["a", "b", "c"]


def test_reason_keys_from_the_priority_rule_and_complaint_types() -> None:
    _, why = priority_of("urgent", "private", "angry")
    assert reason_keys(why, ["repeated", "regulator", "unknown-type"]) == [
        Reason("urgency.urgent", "urgency urgent +3"), Reason("tier.private", "tier private +2"),
        Reason("emotion.angry", "emotion angry +1"),
        Reason("complaint.regulator", "regulator"), Reason("complaint.repeated", "repeated")]


def test_reason_keys_leave_out_the_base_urgency_and_keep_unknown_text() -> None:
    _, why = priority_of("general", "standard", "calm")
    assert reason_keys(why) == []
    assert reason_keys(["tier standard +0", "urgent, unconfirmed: a lead confirms the emergency",
                        "something new"]) == [
        Reason("", "tier standard +0"), Reason("unconfirmed_emergency",
                                               "urgent, unconfirmed: a lead confirms the emergency"),
        Reason("", "something new")]
    assert reason_keys(["tier gold +1", "tier gold +1"], ["media", "media"]) == [
        Reason("tier.gold", "tier gold +1"), Reason("complaint.media", "media")]
