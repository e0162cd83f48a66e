"""Quiet hours: whether a channel's notice waits, and until when. Pure: the time is passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from caredesk.alarms.strategy import QuietHours

__all__ = ["held_until", "quiet_until"]


def quiet_until(now: datetime, quiet: QuietHours | None) -> datetime | None:
    """The end of the quiet period that `now` falls in (UTC), or None outside quiet hours. A period may
    run past midnight (22:00-07:00); start == end means no quiet hours."""
    if quiet is None or quiet.start == quiet.end:
        return None
    local = now.astimezone(quiet.timezone)
    at = local.timetz().replace(tzinfo=None)
    overnight = quiet.start > quiet.end
    inside = (at >= quiet.start or at < quiet.end) if overnight else (quiet.start <= at < quiet.end)
    if not inside:
        return None
    end_day = local.date() + timedelta(days=1) if overnight and at >= quiet.start else local.date()
    end = datetime.combine(end_day, quiet.end, tzinfo=quiet.timezone)
    return end.astimezone(UTC)


def held_until(channel: str, now: datetime, quiet: QuietHours | None) -> datetime | None:
    """When a notice over `channel` may go: None means now."""
    if quiet is None or channel not in quiet.hold:
        return None
    return quiet_until(now, quiet)
