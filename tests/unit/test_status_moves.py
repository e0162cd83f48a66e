"""The status tables of alarms, their deliveries, meetings, join notices, incident records and recorders:
each allowed move is accepted, every other one is refused with a conflict, and terminal states go nowhere.
The expected tables are written out as stored strings, so a changed table or value fails here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

import pytest

from caredesk.alarms.alarm_status import ALARM_MOVES, AlarmStatus, check_alarm_move
from caredesk.alarms.delivery_status import DELIVERY_MOVES, SENDABLE, DeliveryStatus, check_delivery_move
from caredesk.emergency.incident_status import (
    INCIDENT_MOVES,
    RECORDER_MOVES,
    IncidentStatus,
    RecorderStatus,
    check_incident_move,
    check_recorder_move,
)
from caredesk.emergency.meeting_status import MEETING_MOVES, MeetingStatus, check_meeting_move
from caredesk.emergency.notice_status import NOTICE_MOVES, NoticeStatus, check_notice_move
from caredesk.errors import Conflict
from caredesk.moves import terminal_states

Table = tuple[type[StrEnum], Mapping[Any, frozenset[Any]], Callable[[str, Any], StrEnum], dict[str, set[str]]]

TABLES: dict[str, Table] = {
    "alarm": (AlarmStatus, ALARM_MOVES, check_alarm_move, {
        "open": {"acknowledged", "resolved"}, "acknowledged": {"resolved"}, "resolved": set()}),
    "delivery": (DeliveryStatus, DELIVERY_MOVES, check_delivery_move, {
        "pending": {"held", "sending", "sent", "skipped"}, "held": {"sending", "cancelled"},
        "sending": {"sent", "failed", "sending"}, "failed": {"sending", "sent"}, "sent": set(), "skipped": set(),
        "cancelled": set()}),
    "meeting": (MeetingStatus, MEETING_MOVES, check_meeting_move, {
        "scheduled": {"active", "ended"}, "active": {"ended"}, "ended": set()}),
    "notice": (NoticeStatus, NOTICE_MOVES, check_notice_move, {
        "pending": {"sending"}, "sending": {"sent", "failed", "sending"}, "failed": {"sending", "sent"},
        "sent": set()}),
    "incident": (IncidentStatus, INCIDENT_MOVES, check_incident_move, {
        "pending": {"in_progress"}, "in_progress": {"locked"}, "locked": set()}),
    "recorder": (RecorderStatus, RECORDER_MOVES, check_recorder_move, {
        "waiting": {"active"}, "active": {"signed", "waiting"}, "signed": {"active"}}),
}

ALLOWED = [(name, src, dst) for name, (*_, expected) in TABLES.items() for src, targets in expected.items()
           for dst in sorted(targets)]
FORBIDDEN = [(name, src, dst) for name, (*_, expected) in TABLES.items() for src, targets in expected.items()
             for dst in sorted(set(expected) - targets)]


@pytest.mark.parametrize("name", TABLES)
def test_status_moves_values_are_the_stored_strings_and_every_status_has_a_row(name: str) -> None:
    enum, moves, _, expected = TABLES[name]
    assert {s.value for s in enum} == set(expected)
    assert {s.value: {t.value for t in targets} for s, targets in moves.items()} == expected


@pytest.mark.parametrize(("name", "src", "dst"), ALLOWED)
def test_status_moves_allowed_move_is_accepted(name: str, src: str, dst: str) -> None:
    enum, _, check, _ = TABLES[name]
    assert check(src, enum(dst)) is enum(dst)


@pytest.mark.parametrize(("name", "src", "dst"), FORBIDDEN)
def test_status_moves_other_move_is_refused(name: str, src: str, dst: str) -> None:
    enum, moves, check, _ = TABLES[name]
    with pytest.raises(Conflict) as caught:
        check(src, enum(dst))
    assert caught.value.status == 409
    assert caught.value.details == {"status": src, "allowed": sorted(t.value for t in moves[enum(src)])}


@pytest.mark.parametrize("name", TABLES)
def test_status_moves_unknown_stored_status_is_refused(name: str) -> None:
    enum, _, check, _ = TABLES[name]
    with pytest.raises(Conflict, match="unknown status 'bogus'"):
        check("bogus", next(iter(enum)))


@pytest.mark.parametrize(("name", "terminal"), [
    ("alarm", {"resolved"}), ("delivery", {"sent", "skipped", "cancelled"}), ("meeting", {"ended"}),
    ("notice", {"sent"}), ("incident", {"locked"}), ("recorder", set()),
])
def test_status_moves_terminal_states_have_no_moves(name: str, terminal: set[str]) -> None:
    enum, moves, check, _ = TABLES[name]
    assert terminal_states(moves) == {enum(t) for t in terminal}
    for status in terminal:
        for target in enum:
            with pytest.raises(Conflict):
                check(status, target)


def test_status_moves_sendable_deliveries_are_those_the_task_may_claim() -> None:
    # "sending" too: a claim whose worker died is taken again once it lapses (tasks/notice.py)
    assert {s.value for s in SENDABLE} == {"pending", "held", "sending", "failed"}


def test_status_moves_enum_members_compare_equal_to_the_stored_strings() -> None:
    assert AlarmStatus.OPEN == "open" and f"{IncidentStatus.IN_PROGRESS}" == "in_progress"
