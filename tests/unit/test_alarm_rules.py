"""When a conversation's escalating complaints raise an alarm: threshold, level, window, de-duplication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from caredesk.alarms.rules import AlarmPolicy, CountedMessage, counted, should_alarm
from caredesk.clock import FrozenClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLOCK = FrozenClock(START)  # never advanced; tests that move time use their own clock
POLICY = AlarmPolicy(level=3, threshold=3)


def msgs(*levels: int, every: timedelta = timedelta(minutes=1)) -> list[CountedMessage]:
    """Messages ending now, one per `every`, oldest first."""
    now = CLOCK.now()
    last = len(levels) - 1
    return [CountedMessage(f"m{i}", level, now - every * (last - i)) for i, level in enumerate(levels)]


def test_alarm_rules_threshold_reached_raises() -> None:
    assert not should_alarm(msgs(3, 3), POLICY, now=CLOCK.now(), open_alarm=False)
    assert should_alarm(msgs(3, 3, 3), POLICY, now=CLOCK.now(), open_alarm=False)
    assert should_alarm(msgs(3, 4, 3, 3), POLICY, now=CLOCK.now(), open_alarm=False)


def test_alarm_rules_only_messages_at_the_level_count() -> None:
    messages = msgs(1, 2, 3, 0, 4, 2)
    assert [m.message_id for m in counted(messages, POLICY, CLOCK.now())] == ["m2", "m4"]
    assert not should_alarm(messages, POLICY, now=CLOCK.now(), open_alarm=False)
    lower = AlarmPolicy(level=2, threshold=3)
    assert [m.message_id for m in counted(messages, lower, CLOCK.now())] == ["m1", "m2", "m4", "m5"]
    assert should_alarm(messages, lower, now=CLOCK.now(), open_alarm=False)


def test_alarm_rules_open_alarm_is_not_raised_again() -> None:
    assert not should_alarm(msgs(3, 3, 3, 3), POLICY, now=CLOCK.now(), open_alarm=True)


def test_alarm_rules_window_counts_only_recent_messages() -> None:
    policy = AlarmPolicy(level=3, threshold=3, window=timedelta(minutes=30))
    messages = msgs(3, 3, 3, every=timedelta(minutes=15))  # 30, 15 and 0 minutes old
    clock = FrozenClock(START)
    assert len(counted(messages, policy, clock.now())) == 3  # exactly at the window's edge still counts
    assert should_alarm(messages, policy, now=clock.now(), open_alarm=False)
    clock.advance(timedelta(seconds=1))
    assert [m.message_id for m in counted(messages, policy, clock.now())] == ["m1", "m2"]
    assert not should_alarm(messages, policy, now=clock.now(), open_alarm=False)


def test_alarm_rules_without_window_old_messages_count() -> None:
    messages = msgs(3, 3, 3, every=timedelta(days=30))
    assert should_alarm(messages, POLICY, now=CLOCK.now(), open_alarm=False)
    windowed = AlarmPolicy(level=3, threshold=3, window=timedelta(days=1))
    assert not should_alarm(messages, windowed, now=CLOCK.now(), open_alarm=False)


def test_alarm_rules_threshold_of_one_and_empty_conversation() -> None:
    assert should_alarm(msgs(3), AlarmPolicy(level=3, threshold=1), now=CLOCK.now(), open_alarm=False)
    assert not should_alarm([], AlarmPolicy(level=3, threshold=1), now=CLOCK.now(), open_alarm=False)
