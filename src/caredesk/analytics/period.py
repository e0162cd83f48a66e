"""A period [start, end) given as two ISO 8601 texts, as the overview API and `caredesk analytics rebuild` take
it: a time without an offset is read in the centre's time zone; a date alone is its midnight there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from caredesk.errors import InvalidInput

__all__ = ["MAX_PERIOD", "parse_moment", "parse_period"]

EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2999, 12, 31, tzinfo=UTC)
MAX_PERIOD = timedelta(days=3660)  # ten years: a typo in the year is refused rather than scanned


def parse_moment(text: str, zone: ZoneInfo, *, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{field}: not an ISO 8601 date or time: {text[:40]!r}", field=field) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if not EARLIEST.year <= moment.year <= LATEST.year:  # also keeps the hour and day arithmetic in range
        raise InvalidInput(f"{field}: a year from {EARLIEST.year} to {LATEST.year}", field=field)
    return moment.astimezone(UTC)


def parse_period(start_text: str, end_text: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = parse_moment(start_text, zone, field="from")
    end = parse_moment(end_text, zone, field="to")
    if end <= start:
        raise InvalidInput("to must be after from", field="to")
    if end - start > MAX_PERIOD:
        raise InvalidInput("the period is longer than ten years", field="to")
    return start, end
