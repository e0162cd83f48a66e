"""An alarm's statuses and its allowed moves. Acknowledging (or assigning) stops the escalation; resolving
ends the alarm for good (a new escalation raises a new alarm). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from caredesk.moves import check_move

__all__ = ["ALARM_MOVES", "AlarmStatus", "check_alarm_move"]


class AlarmStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


ALARM_MOVES: Mapping[AlarmStatus, frozenset[AlarmStatus]] = MappingProxyType({
    AlarmStatus.OPEN: frozenset({AlarmStatus.ACKNOWLEDGED, AlarmStatus.RESOLVED}),
    AlarmStatus.ACKNOWLEDGED: frozenset({AlarmStatus.RESOLVED}),
    AlarmStatus.RESOLVED: frozenset(),
})


def check_alarm_move(current: str, new: AlarmStatus) -> AlarmStatus:
    return check_move(ALARM_MOVES, current, new, noun="alarm")
