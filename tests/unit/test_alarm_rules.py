"""When a conversation's escalating complaints raise an alarm: threshold, level, window, de-duplication, the
customer's earlier contacts, the shipped rule and its schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from caredesk.alarms.rules import AlarmPolicy, CountedMessage, EarlierContact, counted, counted_contacts, should_alarm
from caredesk.alarms.strategy import load_strategy, parse_strategy
from caredesk.clock import FrozenClock
from caredesk.errors import InvalidConfig

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


# --- escalation counted as people count it: earlier contacts, the shipped rule -----------------------------
DAY = timedelta(days=1)
WATCH = AlarmPolicy(level=2, threshold=3, contacts_within=timedelta(days=7), contact_level=1)


def contact(level: int, age: timedelta, cid: str = "c0", topics: frozenset[str] = frozenset({"business"})
            ) -> EarlierContact:
    return EarlierContact(cid, "phone", level, CLOCK.now() - age, topics)


def test_alarm_rules_shipped_rule_counts_repeated_calls_regulator_and_press() -> None:
    """'三次电话都没人处理' (repeated: 2), '银保监会 / 12378' (3), '电视台, 起诉, 赔偿' (3): the alarm is raised."""
    watch = load_strategy().watch
    assert watch == WATCH
    assert not should_alarm(msgs(2, 3), watch, now=CLOCK.now(), open_alarm=False)
    assert should_alarm(msgs(2, 3, 3), watch, now=CLOCK.now(), open_alarm=False)
    # ordinary conversations: a question then a thanks; a single mild complaint; three mild complaints
    assert not should_alarm(msgs(0, 0), watch, now=CLOCK.now(), open_alarm=False)
    assert not should_alarm(msgs(1), watch, now=CLOCK.now(), open_alarm=False)
    assert not should_alarm(msgs(1, 1, 1), watch, now=CLOCK.now(), open_alarm=False)


def test_alarm_rules_an_earlier_contact_is_one_piece_of_evidence() -> None:
    yesterday = [contact(1, DAY)]
    assert [c.conversation_id for c in counted_contacts(yesterday, WATCH, CLOCK.now())] == ["c0"]
    assert should_alarm(msgs(3, 3), WATCH, now=CLOCK.now(), open_alarm=False, contacts=yesterday)
    assert not should_alarm(msgs(3), WATCH, now=CLOCK.now(), open_alarm=False, contacts=yesterday)
    two = [contact(1, DAY, "c0"), contact(2, 2 * DAY, "c1")]
    assert should_alarm(msgs(3), WATCH, now=CLOCK.now(), open_alarm=False, contacts=two)
    assert not should_alarm(msgs(3, 3), WATCH, now=CLOCK.now(), open_alarm=True, contacts=yesterday)


def test_alarm_rules_contacts_alone_never_raise_an_alarm() -> None:
    many = [contact(3, DAY, f"c{i}") for i in range(5)]
    assert not should_alarm(msgs(0, 1), WATCH, now=CLOCK.now(), open_alarm=False, contacts=many)
    assert not should_alarm([], WATCH, now=CLOCK.now(), open_alarm=False, contacts=many)


def test_alarm_rules_contacts_window_and_level() -> None:
    edge = contact(1, 7 * DAY, "edge")
    late = contact(1, 7 * DAY + timedelta(seconds=1), "late")
    question = contact(0, DAY, "question")
    assert [c.conversation_id for c in counted_contacts([edge, late, question], WATCH, CLOCK.now())] == ["edge"]
    stricter = AlarmPolicy(level=2, threshold=3, contacts_within=7 * DAY, contact_level=2)
    assert counted_contacts([contact(1, DAY)], stricter, CLOCK.now()) == []
    assert len(counted_contacts([contact(2, DAY)], stricter, CLOCK.now())) == 1
    without = AlarmPolicy(level=2, threshold=3)  # no contact window: contacts never count
    assert counted_contacts([contact(3, DAY)], without, CLOCK.now()) == []
    assert not should_alarm(msgs(3, 3), without, now=CLOCK.now(), open_alarm=False, contacts=[contact(3, DAY)])


def test_alarm_rules_same_topic_counts_only_contacts_about_the_conversation() -> None:
    policy = AlarmPolicy(level=2, threshold=3, contacts_within=7 * DAY, same_topic=True)
    cards = contact(1, DAY, "cards", frozenset({"business"}))
    outage = contact(1, DAY, "outage", frozenset({"system"}))
    here = frozenset({"business", "branch"})
    assert [c.conversation_id for c in counted_contacts([cards, outage], policy, CLOCK.now(), topics=here)] == [
        "cards"]
    assert counted_contacts([cards, outage], policy, CLOCK.now()) == []
    anywhere = AlarmPolicy(level=2, threshold=3, contacts_within=7 * DAY)
    assert len(counted_contacts([cards, outage], anywhere, CLOCK.now())) == 2


@pytest.mark.parametrize("watch, message", [
    ({"level": 0}, r"watch\.level: Input should be greater than or equal to 1"),
    ({"threshold": "3"}, r"watch\.threshold: Input should be a valid integer"),
    ({"earlier_contacts": {"within_days": -1}}, r"watch\.earlier_contacts\.within_days"),
    ({"earlier_contacts": {"days": 7}}, r"watch\.earlier_contacts\.days: Extra inputs are not permitted"),
])
def test_alarm_rules_watch_is_strict_configuration(watch: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"audiences": {"lead": {"roles": ["team_lead"]}},
                               "levels": [{"notify": [{"audience": "lead", "channels": ["email"]}]}]}
    with pytest.raises(InvalidConfig, match=message):
        parse_strategy(base | {"watch": watch})
    configured = parse_strategy(base | {"watch": {"level": 3, "threshold": 2, "window_minutes": 60,
                                                  "earlier_contacts": {"within_days": 0}}}).watch
    assert configured == AlarmPolicy(level=3, threshold=2, window=timedelta(minutes=60))
