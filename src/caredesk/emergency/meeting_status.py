"""An emergency meeting's statuses and allowed moves: the first join makes it active; ending it (from either)
opens the incident form, so an ended meeting never starts again. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from caredesk.moves import check_move

__all__ = ["MEETING_MOVES", "MeetingStatus", "check_meeting_move"]


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    ENDED = "ended"


MEETING_MOVES: Mapping[MeetingStatus, frozenset[MeetingStatus]] = MappingProxyType({
    MeetingStatus.SCHEDULED: frozenset({MeetingStatus.ACTIVE, MeetingStatus.ENDED}),
    MeetingStatus.ACTIVE: frozenset({MeetingStatus.ENDED}),
    MeetingStatus.ENDED: frozenset(),
})


def check_meeting_move(current: str, new: MeetingStatus) -> MeetingStatus:
    return check_move(MEETING_MOVES, current, new, noun="meeting")
