"""The sign-in rule at its edges: bracketed and scoped IPv6 addresses, a night centre's opening minute, the
refusal of a naive time, and the alert text with both reasons."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from caredesk.accounts.login_risk import LoginRiskPolicy, PlaceHistory, assess, in_office_hours, place_of

POLICY = LoginRiskPolicy()  # 07:00-22:00 Asia/Shanghai
NIGHT = LoginRiskPolicy(hours_start=time(22), hours_end=time(6))


def shanghai(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 10, hour, minute, tzinfo=timezone(timedelta(hours=8))).astimezone(UTC)


@pytest.mark.parametrize(("address", "place"), [
    ("[2001:db8:1:2::9]", "2001:db8:1::/48"),
    ("fe80::1%eth0", "fe80::/48"),
    (" 203.0.113.9 ", "203.0.113.0/24"),
])
def test_place_of_brackets_scope_and_spaces_are_not_part_of_the_address(address: str, place: str) -> None:
    assert place_of(address, POLICY) == place


def test_in_office_hours_night_centre_opens_at_its_start_minute() -> None:
    assert in_office_hours(shanghai(22), NIGHT)
    assert not in_office_hours(shanghai(21, 59), NIGHT)
    assert in_office_hours(shanghai(5, 59), NIGHT) and not in_office_hours(shanghai(6), NIGHT)


def test_in_office_hours_refuses_a_naive_time_saying_why() -> None:
    with pytest.raises(ValueError, match=r"^naive datetime given; use aware datetimes$"):
        in_office_hours(datetime(2026, 3, 10, 12), POLICY)


def test_assess_describe_joins_both_reasons() -> None:
    risk = assess(PlaceHistory(frozenset({"198.51.100.0/24"}), sign_ins=10), "203.0.113.9", shanghai(23), POLICY)
    assert risk.describe() == ("signed in from 203.0.113.0/24, a network this account has not signed in from "
                               "before; signed in at 23:00 (Asia/Shanghai), outside office hours 07:00-22:00")
