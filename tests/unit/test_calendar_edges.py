"""Business calendars at their edges: closing time, midnight, make-up days, day and date ranges, the local day
in a zone behind UTC, results in the caller's zone, and the messages of refused calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from caredesk.errors import InvalidConfig
from caredesk.sla.calendar import BusinessCalendar, parse_calendar

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
NINE_TO_FIVE = ((time(9), time(17)),)


def test_calendar_is_not_working_at_closing_time() -> None:
    cal = BusinessCalendar("c", UTC, {d: NINE_TO_FIVE for d in range(5)})
    tuesday = datetime(2026, 12, 1, tzinfo=UTC)
    assert cal.is_working(tuesday.replace(hour=16, minute=59))
    assert not cal.is_working(tuesday.replace(hour=17))
    assert cal.add_minutes(tuesday.replace(hour=17), 0) == tuesday.replace(day=2, hour=9)


def test_calendar_add_minutes_negative_is_the_start_itself() -> None:
    cal = BusinessCalendar("c", UTC, {d: NINE_TO_FIVE for d in range(5)})
    evening = datetime(2026, 12, 1, 20, tzinfo=UTC)
    assert cal.add_minutes(evening, -5) == evening


def test_calendar_results_are_in_the_callers_zone() -> None:
    cal = BusinessCalendar("c", UTC, {d: NINE_TO_FIVE for d in range(7)})
    start = datetime(2026, 12, 1, 20, tzinfo=SH)  # 12:00 UTC
    assert cal.add_minutes(start, 30).utcoffset() == timedelta(hours=8)
    assert cal.add_minutes(start, 30) == datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
    late = datetime(2026, 12, 2, 2, tzinfo=SH)  # 18:00 UTC the day before: after hours
    assert cal.add_minutes(late, 0) == datetime(2026, 12, 2, 9, tzinfo=UTC)
    assert cal.add_minutes(late, 0).utcoffset() == timedelta(hours=8)


def test_calendar_counts_from_the_local_day_in_a_zone_behind_utc() -> None:
    night = BusinessCalendar("night", NY, {0: ((time(18), time(23)),)})
    monday_evening = datetime(2026, 11, 30, 20, tzinfo=NY)  # Tuesday 01:00 UTC
    assert night.add_minutes(monday_evening, 60) == datetime(2026, 11, 30, 21, tzinfo=NY)


def test_calendar_make_up_day_without_its_own_hours_follows_monday() -> None:
    saturday = date(2026, 12, 12)
    cal = BusinessCalendar("c", UTC, {0: NINE_TO_FIVE, 1: ((time(10), time(12)),)}, workdays=frozenset({saturday}))
    assert cal.intervals_on(saturday) == NINE_TO_FIVE
    no_monday = BusinessCalendar("c", UTC, {1: NINE_TO_FIVE}, workdays=frozenset({saturday}))
    assert no_monday.intervals_on(saturday) == ()


def test_calendar_of_make_up_days_only_is_allowed_and_runs_out() -> None:
    cal = BusinessCalendar("makeup", UTC, {}, workdays=frozenset({date(2020, 1, 4)}), workday_hours=NINE_TO_FIVE)
    assert cal.intervals_on(date(2020, 1, 4)) == NINE_TO_FIVE
    with pytest.raises(ValueError, match="calendar 'makeup': no working time within 3700 days"):
        cal.add_minutes(datetime(2026, 12, 1, tzinfo=UTC), 10)


def test_calendar_without_any_working_hours_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="calendar 'idle' has no working hours"):
        BusinessCalendar("idle", UTC, {5: ()})


def test_parse_calendar_day_ranges_date_ranges_and_make_up_hours() -> None:
    cal = parse_calendar("office", {"hours": {"wed-fri": "09:00-17:00", "sat": "22:00-00:00"},
                                    "holidays": ["2026-10-01..2026-10-07"], "workdays": ["2026-10-10"],
                                    "workday_hours": ["10:00-15:00"]})
    assert cal.name == "office"
    assert sorted(cal.hours) == [2, 3, 4, 5]
    assert cal.hours[5] == ((time(22), time(0)),)
    assert cal.holidays == frozenset(date(2026, 10, d) for d in range(1, 8))
    assert cal.workdays == frozenset({date(2026, 10, 10)})
    assert cal.workday_hours == ((time(10), time(15)),)


@pytest.mark.parametrize(("raw", "message"), [
    ({"hours": {"mon": ["09:00-09:00"]}}, "'09:00-09:00' ends before it starts"),
    ({"hours": {"fri-mon": ["09:00-17:00"]}}, "'fri-mon' runs backwards"),
    ({"hours": {"mon": ["09:00-17:00"]}, "holidays": ["2026-10-07..2026-10-01"]}, "'2026-10-07..2026-10-01' runs "
                                                                                   "backwards"),
])
def test_parse_calendar_refusals_name_the_calendar_and_the_value(raw: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidConfig, match=message) as refused:
        parse_calendar("office", raw)
    assert "calendar office" in str(refused.value)
