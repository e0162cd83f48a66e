"""Business minutes across lunch breaks, weekends, holidays, make-up working days and time zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from caredesk.errors import InvalidConfig
from caredesk.sla.calendar import ALWAYS, parse_calendar

SH = "Asia/Shanghai"
CAL = parse_calendar("bank", {
    "timezone": SH,
    "hours": {"mon-fri": ["09:00-12:00", "13:00-18:00"]},
    "holidays": ["2026-12-07"],            # Monday
    "workdays": ["2026-12-13"],            # Sunday worked in lieu
    "workday_hours": ["09:00-12:00"],
})


def sh(day: int, hh: int, mm: int = 0) -> datetime:
    """A Shanghai wall time in December 2026, as an aware UTC datetime (how CareDesk stores times)."""
    from zoneinfo import ZoneInfo

    return datetime(2026, 12, day, hh, mm, tzinfo=ZoneInfo(SH)).astimezone(UTC)


def test_adding_minutes_skips_lunch_weekend_and_holiday() -> None:
    # Friday 4 Dec 17:00 + 60 min = 18:00 that day; + 61 min jumps Sat, Sun, the Monday holiday -> Tue 09:01
    assert CAL.add_minutes(sh(4, 17), 60) == sh(4, 18)
    assert CAL.add_minutes(sh(4, 17), 61) == sh(8, 9, 1)
    assert CAL.add_minutes(sh(8, 11, 30), 60) == sh(8, 13, 30)  # lunch 12:00-13:00 does not count


def test_minutes_between_is_the_inverse_of_adding() -> None:
    start = sh(4, 16, 20)
    for minutes in (1, 100, 480, 1234):
        assert CAL.minutes_between(start, CAL.add_minutes(start, minutes)) == pytest.approx(minutes)
    assert CAL.minutes_between(sh(5, 10), sh(6, 23)) == 0  # weekend
    assert CAL.minutes_between(sh(8, 10), sh(8, 9)) == 0   # reversed


def test_make_up_workday_counts_with_its_own_hours() -> None:
    assert CAL.minutes_between(sh(13, 0), sh(13, 23)) == 180  # Sunday 13 Dec: 09:00-12:00 only
    assert CAL.is_working(sh(13, 10)) and not CAL.is_working(sh(13, 14))


def test_starting_outside_hours_starts_the_clock_at_the_next_opening() -> None:
    assert CAL.add_minutes(sh(4, 20), 0) == sh(8, 9)
    assert CAL.add_minutes(sh(4, 20), 30) == sh(8, 9, 30)


def test_always_calendar_counts_wall_minutes() -> None:
    a = datetime(2026, 12, 5, 23, 50, tzinfo=UTC)
    assert ALWAYS.add_minutes(a, 20) == datetime(2026, 12, 6, 0, 10, tzinfo=UTC)
    assert ALWAYS.minutes_between(a, datetime(2026, 12, 7, 23, 50, tzinfo=UTC)) == 2 * 24 * 60


@pytest.mark.parametrize(("raw", "message"), [
    ({"timezone": "Mars/Olympus", "hours": {"mon": ["09:00-17:00"]}}, "unknown time zone"),
    ({"hours": {"mon": ["17:00-09:00"]}}, "ends before it starts"),
    ({"hours": {"funday": ["09:00-17:00"]}}, "not a weekday"),
    ({"hours": {"mon": ["nine to five"]}}, "not an interval"),
    ({"hours": {"mon": ["09:00-17:00"]}, "holidays": ["2026-13-01"]}, "not a date"),
    ({"hours": {}}, "needs working hours"),
])
def test_bad_calendars_are_refused_with_the_field_named(raw: dict, message: str) -> None:
    with pytest.raises(InvalidConfig, match=message):
        parse_calendar("x", raw)
