"""Business-hours calendars: working intervals per weekday in a time zone, public holidays, and make-up
working days (China's 调休 moves working days onto weekends around long holidays). Pure: SLA clocks count
business minutes with it and never read the clock themselves."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, model_validator

from caredesk.config_files import ConfigModel, TimeZoneName, one_or_many, validate_config

__all__ = ["ALWAYS", "BusinessCalendar", "CalendarSpec", "parse_calendar"]

Interval = tuple[time, time]
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_DAYS = 3_700  # ten years: a target longer than that is a configuration error, not a loop


@dataclass(frozen=True)
class BusinessCalendar:
    name: str
    tz: ZoneInfo
    hours: Mapping[int, tuple[Interval, ...]]  # weekday (0 = Monday) -> working intervals, in order
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()  # weekend days worked in lieu: they follow `workday_hours`
    workday_hours: tuple[Interval, ...] = field(default=())

    def __post_init__(self) -> None:
        if not any(self.hours.get(d) for d in range(7)) and not self.workdays:
            raise ValueError(f"calendar {self.name!r} has no working hours")

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        if day in self.holidays:
            return ()
        if day in self.workdays:
            return self.workday_hours or self.hours.get(0, ())
        return self.hours.get(day.weekday(), ())

    def _periods(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working periods (aware, UTC) from `start` on, the first one clipped at `start`."""
        local = start.astimezone(self.tz)
        day = local.date()
        for _ in range(_MAX_DAYS):
            for begin, end in self.intervals_on(day):
                a = datetime.combine(day, begin, self.tz)
                b = datetime.combine(day + timedelta(days=1), time(0), self.tz) if end == time(0) \
                    else datetime.combine(day, end, self.tz)
                if b <= local:
                    continue
                yield max(a, local), b
            day += timedelta(days=1)
        raise ValueError(f"calendar {self.name!r}: no working time within {_MAX_DAYS} days")

    def add_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant at which `minutes` business minutes have passed since `start`."""
        if minutes <= 0:
            return self._next_working_instant(start) if minutes == 0 else start
        left = timedelta(minutes=minutes)
        for a, b in self._periods(start):
            if b - a >= left:
                return (a + left).astimezone(start.tzinfo)
            left -= b - a
        raise AssertionError("unreachable")  # _periods raises first

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Business minutes in [start, end); negative intervals count as 0."""
        if end <= start:
            return 0.0
        total = timedelta()
        for a, b in self._periods(start):
            if a >= end:
                break
            total += min(b, end) - a
        return total.total_seconds() / 60

    def is_working(self, at: datetime) -> bool:
        a, _ = next(self._periods(at))
        return a <= at.astimezone(self.tz)

    def _next_working_instant(self, at: datetime) -> datetime:
        a, _ = next(self._periods(at))
        return a.astimezone(at.tzinfo)


ALWAYS = BusinessCalendar("always", ZoneInfo("UTC"), {d: ((time(0), time(0)),) for d in range(7)})


def _interval(value: object) -> Interval:
    try:
        a, b = (time.fromisoformat(part.strip()) for part in str(value).split("-"))
    except ValueError:
        raise ValueError(f"{value!r} is not an interval like 09:00-17:30") from None
    if b != time(0) and b <= a:
        raise ValueError(f"{value!r} ends before it starts")
    return a, b


def _day_range(key: object) -> tuple[int, ...]:
    first, _, last = str(key).lower().partition("-")
    try:
        i, j = _DAYS.index(first.strip()), _DAYS.index((last or first).strip())
    except ValueError:
        raise ValueError(f"{key!r} is not a weekday or a range like mon-fri") from None
    if j < i:
        raise ValueError(f"{key!r} runs backwards")
    return tuple(range(i, j + 1))


def _date_span(value: object) -> tuple[date, date]:
    text = value.isoformat() if isinstance(value, date) else str(value)  # YAML reads a bare 2026-10-01 as a date
    first, sep, last = text.partition("..")
    try:
        a = date.fromisoformat(first.strip())
        b = date.fromisoformat(last.strip()) if sep else a
    except ValueError:
        raise ValueError(f"{text!r} is not a date or a range like 2026-10-01..2026-10-07") from None
    if b < a:
        raise ValueError(f"{text!r} runs backwards")
    return a, b


IntervalText = Annotated[Interval, BeforeValidator(_interval)]
DayRange = Annotated[tuple[int, ...], BeforeValidator(_day_range)]
DateSpan = Annotated[tuple[date, date], BeforeValidator(_date_span)]


def _days(spans: tuple[tuple[date, date], ...]) -> frozenset[date]:
    return frozenset(a + timedelta(days=k) for a, b in spans for k in range((b - a).days + 1))


class CalendarSpec(ConfigModel):
    """A calendar as written in the SLA file: `hours` maps weekdays (or ranges like mon-fri) to intervals."""

    timezone: TimeZoneName = "UTC"
    hours: dict[DayRange, Annotated[tuple[IntervalText, ...], BeforeValidator(one_or_many)]] = Field(
        default_factory=dict)
    holidays: tuple[DateSpan, ...] = ()
    workdays: tuple[DateSpan, ...] = ()  # weekend days worked in lieu
    workday_hours: tuple[IntervalText, ...] = ()

    @model_validator(mode="after")
    def _works_sometimes(self) -> CalendarSpec:
        if not any(self.hours.values()) and not self.workdays:
            raise ValueError("a calendar needs working hours")
        return self

    def to_calendar(self, name: str) -> BusinessCalendar:
        hours = {day: tuple(sorted(intervals)) for days, intervals in self.hours.items() for day in days}
        return BusinessCalendar(name, ZoneInfo(self.timezone), hours, _days(self.holidays), _days(self.workdays),
                                tuple(self.workday_hours))


def parse_calendar(name: str, raw: Mapping[str, object]) -> BusinessCalendar:
    """A calendar from its configuration mapping; a mistake is an InvalidConfig naming the field."""
    return validate_config(CalendarSpec, raw, f"calendar {name}").to_calendar(name)
