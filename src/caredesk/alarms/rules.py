"""When a conversation's escalating complaints call for an alarm, counted as people count it: the messages of
the conversation that reach the complaint level, and the customer's earlier contacts (another conversation on
any channel: yesterday's phone call about the same complaint), each contact one piece of evidence. Pure: the
counted messages, the contacts and the time are passed in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["AlarmPolicy", "CountedMessage", "EarlierContact", "counted", "counted_contacts", "should_alarm"]


@dataclass(frozen=True)
class AlarmPolicy:
    level: int  # a message counts when its complaint level is at least this
    threshold: int  # this many pieces of evidence (counted messages and contacts) raise the alarm
    window: timedelta | None = None  # only messages this recent count
    contacts_within: timedelta | None = None  # earlier contacts this recent count; None: none do
    contact_level: int = 1  # an earlier contact counts when one of its messages reached this level
    same_topic: bool = False  # only earlier contacts about one of the conversation's topics count


@dataclass(frozen=True)
class CountedMessage:
    message_id: str
    level: int
    at: datetime


@dataclass(frozen=True)
class EarlierContact:
    """Another conversation of the same customer that began before this one."""

    conversation_id: str
    channel: str
    level: int  # the highest complaint level of its messages
    at: datetime  # its latest customer message
    topics: frozenset[str] = frozenset()  # the content types triage gave its messages


def counted(messages: Sequence[CountedMessage], policy: AlarmPolicy, now: datetime) -> list[CountedMessage]:
    return [m for m in messages if m.level >= policy.level and (policy.window is None or now - m.at <= policy.window)]


def counted_contacts(contacts: Sequence[EarlierContact], policy: AlarmPolicy, now: datetime, *,
                     topics: frozenset[str] = frozenset()) -> list[EarlierContact]:
    """The earlier contacts that count: recent enough, a complaint at least at `contact_level`, and (when the
    policy asks) about one of `topics`, the conversation's own."""
    within = policy.contacts_within
    if within is None:
        return []
    return [c for c in contacts if c.level >= policy.contact_level and now - c.at <= within
            and (not policy.same_topic or bool(c.topics & topics))]


def should_alarm(messages: Sequence[CountedMessage], policy: AlarmPolicy, *, now: datetime, open_alarm: bool,
                 contacts: Sequence[EarlierContact] = (), topics: frozenset[str] = frozenset()) -> bool:
    """One alarm per escalation: none while an alarm for the conversation is still open. Earlier contacts add
    to the conversation's own evidence but never raise an alarm alone: a thank-you after three complaints
    this week is no escalation of this conversation."""
    hits = counted(messages, policy, now)
    evidence = len(hits) + len(counted_contacts(contacts, policy, now, topics=topics))
    return not open_alarm and bool(hits) and evidence >= policy.threshold
