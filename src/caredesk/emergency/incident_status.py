"""The incident form's statuses and allowed moves, for the record and for each recorder's turn. The record
opens when the meeting ends and locks at the last signature, for good (it is the event record). A recorder
waits, is active on their turn, signs; a return sends the turn back (active -> waiting, signed -> active).
Pure."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from caredesk.moves import check_move

__all__ = ["INCIDENT_MOVES", "RECORDER_MOVES", "IncidentStatus", "RecorderStatus", "check_incident_move",
           "check_recorder_move"]


class IncidentStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    LOCKED = "locked"


INCIDENT_MOVES: Mapping[IncidentStatus, frozenset[IncidentStatus]] = MappingProxyType({
    IncidentStatus.PENDING: frozenset({IncidentStatus.IN_PROGRESS}),
    IncidentStatus.IN_PROGRESS: frozenset({IncidentStatus.LOCKED}),
    IncidentStatus.LOCKED: frozenset(),
})


class RecorderStatus(StrEnum):
    WAITING = "waiting"
    ACTIVE = "active"
    SIGNED = "signed"


# No terminal status: a signature stands only until the next recorder returns the form.
RECORDER_MOVES: Mapping[RecorderStatus, frozenset[RecorderStatus]] = MappingProxyType({
    RecorderStatus.WAITING: frozenset({RecorderStatus.ACTIVE}),
    RecorderStatus.ACTIVE: frozenset({RecorderStatus.SIGNED, RecorderStatus.WAITING}),
    RecorderStatus.SIGNED: frozenset({RecorderStatus.ACTIVE}),
})


def check_incident_move(current: str, new: IncidentStatus) -> IncidentStatus:
    return check_move(INCIDENT_MOVES, current, new, noun="incident record")


def check_recorder_move(current: str, new: RecorderStatus) -> RecorderStatus:
    return check_move(RECORDER_MOVES, current, new, noun="recorder's turn")
