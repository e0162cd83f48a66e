"""The unusual sign-in rule (accounts/login_risk.py): places as networks, office hours in the centre's time
zone, trusted networks and the learning period. Pure: no database, the clock passed in."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from caredesk.accounts.login_risk import (
    LoginRiskPolicy,
    PlaceHistory,
    assess,
    in_office_hours,
    place_of,
)
from caredesk.settings import Settings

POLICY = LoginRiskPolicy()  # 07:00-22:00 Asia/Shanghai (UTC+8, no daylight saving), loopback trusted
OFFICE = "198.51.100.0/24"
SEASONED = PlaceHistory(frozenset({OFFICE}), sign_ins=10)


def shanghai(hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A moment given as Shanghai wall-clock time, expressed in UTC as the clock gives it."""
    return datetime(2026, 3, 10, hour, minute, second, tzinfo=timezone(timedelta(hours=8))).astimezone(UTC)


def test_place_of_is_the_ipv4_24_or_ipv6_48_network() -> None:
    assert place_of("198.51.100.77", POLICY) == OFFICE
    assert place_of("2001:db8:abcd:12::5", POLICY) == "2001:db8:abcd::/48"
    assert place_of("2001:db8:abcd:ffff::1", POLICY) == place_of("2001:db8:abcd:1::1", POLICY)
    assert place_of("::ffff:198.51.100.9", POLICY) == OFFICE  # an IPv4 client on a dual-stack socket
    assert place_of("fe80::1%eth0", POLICY) == "fe80::/48"


def test_place_of_an_address_that_is_not_an_ip_is_this_machine() -> None:
    for address in ("testclient", "unknown", "", "not an address"):
        assert place_of(address, POLICY) == "127.0.0.0/24"
        assert assess(SEASONED, address, shanghai(3), POLICY).trusted  # as loopback: trusted by default


def test_assess_known_place_in_office_hours_is_fine() -> None:
    risk = assess(SEASONED, "198.51.100.200", shanghai(10), POLICY)
    assert (risk.risky, risk.network, risk.trusted, risk.learning) == (False, OFFICE, False, False)


def test_assess_new_place_in_office_hours() -> None:
    risk = assess(SEASONED, "203.0.113.7", shanghai(10), POLICY)
    assert risk.codes == ("new_place",)
    assert risk.describe() == ("signed in from 203.0.113.0/24, a network this account has not signed in from "
                               "before")


def test_assess_odd_hour_from_a_known_place() -> None:
    risk = assess(SEASONED, "198.51.100.5", shanghai(3), POLICY)
    assert risk.codes == ("odd_hour",)
    assert risk.reasons[0].text == "signed in at 03:00 (Asia/Shanghai), outside office hours 07:00-22:00"


def test_assess_new_place_at_an_odd_hour_gives_both_reasons() -> None:
    assert assess(SEASONED, "203.0.113.7", shanghai(23, 30), POLICY).codes == ("new_place", "odd_hour")


@pytest.mark.parametrize(("hour", "minute", "second", "inside"), [
    (6, 59, 59, False), (7, 0, 0, True), (21, 59, 59, True), (22, 0, 0, False), (0, 0, 0, False),
])
def test_office_hours_boundaries_start_included_end_excluded(hour: int, minute: int, second: int,
                                                             inside: bool) -> None:
    assert in_office_hours(shanghai(hour, minute, second), POLICY) is inside


def test_office_hours_follow_the_centre_time_zone_not_utc() -> None:
    # 23:00 UTC is 07:00 the next morning in Shanghai (UTC+8 all year: no daylight-saving jump to handle).
    at = datetime(2026, 7, 1, 23, 0, tzinfo=UTC)
    assert in_office_hours(at, POLICY)
    assert not in_office_hours(at - timedelta(seconds=1), POLICY)
    assert not in_office_hours(datetime(2026, 7, 1, 14, 0, tzinfo=UTC), POLICY)  # 22:00 in Shanghai


def test_office_hours_wrapping_midnight_and_all_day() -> None:
    night = LoginRiskPolicy(hours_start=time(20), hours_end=time(6))
    assert in_office_hours(shanghai(23), night) and in_office_hours(shanghai(5, 59), night)
    assert not in_office_hours(shanghai(6), night) and not in_office_hours(shanghai(12), night)
    always = LoginRiskPolicy(hours_start=time(0), hours_end=time(0))
    assert all(in_office_hours(shanghai(h), always) for h in range(24))


def test_office_hours_refuse_a_naive_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        in_office_hours(datetime(2026, 3, 10, 10, 0), POLICY)


def test_trusted_network_is_never_unusual() -> None:
    lan = LoginRiskPolicy(trusted=(ipaddress.ip_network("10.20.0.0/16"),))
    risk = assess(SEASONED, "10.20.99.4", shanghai(3), lan)  # a new /24 of the office LAN, at night
    assert (risk.risky, risk.trusted, risk.network) == (False, True, "10.20.99.0/24")
    assert assess(SEASONED, "10.21.0.4", shanghai(10), lan).codes == ("new_place",)


def test_loopback_is_trusted_by_default_but_private_ranges_are_not() -> None:
    assert assess(SEASONED, "127.0.0.1", shanghai(3), POLICY).trusted
    assert assess(SEASONED, "::1", shanghai(3), POLICY).trusted
    for private in ("10.1.2.3", "192.168.1.10", "172.16.5.5", "fd00::1"):
        assert assess(SEASONED, private, shanghai(10), POLICY).codes == ("new_place",)


def test_trusted_ipv6_network_and_no_cross_family_match() -> None:
    v6 = LoginRiskPolicy(trusted=(ipaddress.ip_network("2001:db8:abcd::/48"),))
    assert assess(SEASONED, "2001:db8:abcd:7::1", shanghai(3), v6).trusted
    assert not assess(SEASONED, "2001:db8:abce::1", shanghai(10), v6).trusted
    assert assess(SEASONED, "testclient", shanghai(10), v6).codes == ("new_place",)  # loopback not listed


def test_learning_period_only_learns() -> None:
    fresh = PlaceHistory()
    for sign_ins in range(3):
        risk = assess(PlaceHistory(frozenset({OFFICE}), sign_ins), "203.0.113.7", shanghai(3), POLICY)
        assert (risk.risky, risk.learning) == (False, True)
    assert assess(fresh, "203.0.113.7", shanghai(3), POLICY).network == "203.0.113.0/24"  # still named
    risk = assess(PlaceHistory(frozenset({OFFICE}), 3), "203.0.113.7", shanghai(3), POLICY)
    assert (risk.learning, risk.codes) == (False, ("new_place", "odd_hour"))
    assert assess(fresh, "203.0.113.7", shanghai(3), LoginRiskPolicy(learning_sign_ins=0)).risky


def test_settings_defaults_build_the_same_policy() -> None:
    from caredesk.accounts.login_anomaly import login_risk_policy

    policy = login_risk_policy(Settings(environment="test"))
    hours = (policy.hours_start, policy.hours_end, str(policy.timezone))
    assert hours == (time(7), time(22), "Asia/Shanghai")
    assert policy.trusted == POLICY.trusted and policy.learning_sign_ins == 3 and policy.action == "freeze"


def test_settings_refuse_a_bad_network_or_time_zone() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="login_trusted_networks"):
        Settings(environment="test", login_trusted_networks=["10.1.2.3/16"])  # host bits set: a typo
    with pytest.raises(ValidationError, match="login_hours_timezone"):
        Settings(environment="test", login_hours_timezone="Mars/Olympus")


def test_office_hours_follow_daylight_saving_where_the_zone_has_it() -> None:
    from zoneinfo import ZoneInfo

    london = LoginRiskPolicy(timezone=ZoneInfo("Europe/London"))
    assert in_office_hours(datetime(2026, 7, 1, 6, 0, tzinfo=UTC), london)  # 07:00 BST
    assert not in_office_hours(datetime(2026, 1, 15, 6, 0, tzinfo=UTC), london)  # 06:00 GMT
    assert in_office_hours(datetime(2026, 1, 15, 7, 0, tzinfo=UTC), london)
