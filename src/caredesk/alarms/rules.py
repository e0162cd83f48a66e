"""When a conversation's escalating complaints call for an alarm. Pure: the counted messages and the
time are passed in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["AlarmPolicy", "CountedMessage", "counted", "should_alarm"]


@dataclass(frozen=True)
class AlarmPolicy:
    level: int  # a message counts when its complaint level is at least this
    threshold: int  # this many counted messages raise the alarm
    window: timedelta | None = None  # only messages this recent count


@dataclass(frozen=True)
class CountedMessage:
    message_id: str
    level: int
    at: datetime


def counted(messages: Sequence[CountedMessage], policy: AlarmPolicy, now: datetime) -> list[CountedMessage]:
    return [m for m in messages if m.level >= policy.level and (policy.window is None or now - m.at <= policy.window)]


def should_alarm(messages: Sequence[CountedMessage], policy: AlarmPolicy, *, now: datetime, open_alarm: bool
                 ) -> bool:
    """One alarm per escalation: none while an alarm for the conversation is still open."""
    return not open_alarm and len(counted(messages, policy, now)) >= policy.threshold
