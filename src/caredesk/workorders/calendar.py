"""Business-hours calendars: working intervals per weekday in a time zone, public holidays, and make-up
working days (China's 调休 moves working days onto weekends around long holidays). Pure: SLA clocks count
business minutes with it and never read the clock themselves."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["ALWAYS", "BusinessCalendar", "CalendarError", "parse_calendar"]

Interval = tuple[time, time]
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_DAYS = 3_700  # ten years: a target longer than that is a configuration error, not a loop


class CalendarError(ValueError):
    """A calendar definition that cannot be used (the message names the field)."""


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
            raise CalendarError(f"calendar {self.name!r} has no working hours")

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
        raise CalendarError(f"calendar {self.name!r}: no working time within {_MAX_DAYS} days")

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


def _interval(text: str, where: str) -> Interval:
    try:
        a, b = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise CalendarError(f"{where}: {text!r} is not an interval like 09:00-17:30") from None
    if b != time(0) and b <= a:
        raise CalendarError(f"{where}: {text!r} ends before it starts")
    return a, b


def _day_range(key: str, where: str) -> list[int]:
    first, _, last = key.lower().partition("-")
    try:
        i, j = _DAYS.index(first.strip()), _DAYS.index((last or first).strip())
    except ValueError:
        raise CalendarError(f"{where}: {key!r} is not a weekday or a range like mon-fri") from None
    if j < i:
        raise CalendarError(f"{where}: {key!r} runs backwards")
    return list(range(i, j + 1))


def _dates(values: object, where: str) -> frozenset[date]:
    out: set[date] = set()
    for value in values or []:  # type: ignore[attr-defined]
        text = str(value)
        first, sep, last = text.partition("..")
        try:
            a = date.fromisoformat(first.strip())
            b = date.fromisoformat(last.strip()) if sep else a
        except ValueError:
            raise CalendarError(f"{where}: {text!r} is not a date or a range like 2026-10-01..2026-10-07") from None
        if b < a:
            raise CalendarError(f"{where}: {text!r} runs backwards")
        out.update(a + timedelta(days=k) for k in range((b - a).days + 1))
    return frozenset(out)


def parse_calendar(name: str, raw: Mapping[str, object]) -> BusinessCalendar:
    """Build a calendar from its configuration mapping; every mistake is a CalendarError naming the field."""
    where = f"calendar {name}"
    try:
        tz = ZoneInfo(str(raw.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"{where}.timezone: unknown time zone {raw.get('timezone')!r}") from None
    hours: dict[int, tuple[Interval, ...]] = {}
    spec = raw.get("hours") or {}
    if not isinstance(spec, Mapping):
        raise CalendarError(f"{where}.hours must map weekdays to intervals")
    for key, values in spec.items():
        items = [values] if isinstance(values, str) else list(values or [])
        intervals = tuple(sorted(_interval(str(v), f"{where}.hours.{key}") for v in items))
        for day in _day_range(str(key), f"{where}.hours"):
            hours[day] = intervals
    workday_hours = tuple(_interval(str(v), f"{where}.workday_hours") for v in raw.get("workday_hours") or [])  # type: ignore[attr-defined]
    return BusinessCalendar(name, tz, hours, _dates(raw.get("holidays"), f"{where}.holidays"),
                            _dates(raw.get("workdays"), f"{where}.workdays"), workday_hours)
