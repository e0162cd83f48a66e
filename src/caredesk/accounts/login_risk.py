"""Is a sign-in unusual for this account? A pure rule with the clock passed in: a sign-in from a network the
account has not signed in from before (a new place), or outside the centre's office hours (an odd hour).

A place is a network, not an address: IPv4 /24 and IPv6 /48, so that a desk's DHCP lease or an IPv6 privacy
address does not count as a new place. Trusted networks (the office LAN, listed by the administrators) are
never judged; by default only this machine (loopback) is trusted: private ranges are not, because VPN pools
and a misconfigured proxy are private too. An address that is not an IP address (Starlette's TestClient says
"testclient"; a Unix-socket peer has none) did not come over the network: it is judged as this machine's own
loopback address. An account's first sign-ins (the learning period) only learn its places and are never
unusual, so that a new account, or every account when this rule is first switched on, is not frozen at
once."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, time, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = ["LOOPBACK_NETWORKS", "LoginRisk", "LoginRiskPolicy", "PlaceHistory", "RiskReason", "assess",
           "in_office_hours", "place_of"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOOPBACK_NETWORKS: tuple[Network, ...] = (ipaddress.ip_network("127.0.0.0/8"),
                                          ipaddress.ip_network("::1/128"))
_LOCAL = ipaddress.ip_address("127.0.0.1")


@dataclass(frozen=True)
class LoginRiskPolicy:
    """Office hours run from `hours_start` to `hours_end` (end excluded) every day in `timezone`; an end
    before the start wraps past midnight (a night centre), an end equal to the start means all day (no odd
    hours). `action` is what a risky sign-in leads to: freeze the account, only alert, or nothing."""

    hours_start: time = time(7)
    hours_end: time = time(22)
    timezone: tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    trusted: tuple[Network, ...] = LOOPBACK_NETWORKS
    learning_sign_ins: int = 3
    action: Literal["freeze", "alert", "off"] = "freeze"
    ipv4_prefix: int = 24
    ipv6_prefix: int = 48


@dataclass(frozen=True)
class PlaceHistory:
    """What the account has done before: the networks it is known from, and its successful sign-ins."""

    known: frozenset[str] = frozenset()
    sign_ins: int = 0


@dataclass(frozen=True)
class RiskReason:
    code: Literal["new_place", "odd_hour"]
    text: str  # one sentence for the administrators' alert and the audit log


@dataclass(frozen=True)
class LoginRisk:
    network: str  # the place of this sign-in, e.g. "203.0.113.0/24"
    trusted: bool
    learning: bool
    reasons: tuple[RiskReason, ...] = ()

    @property
    def risky(self) -> bool:
        return bool(self.reasons)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    def describe(self) -> str:
        return "; ".join(r.text for r in self.reasons)


def _ip(address: str) -> IPAddress:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return _LOCAL
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # ::ffff:203.0.113.9 from a dual-stack socket is the IPv4 client
    return ip


def place_of(address: str, policy: LoginRiskPolicy) -> str:
    """The network an address belongs to, as CIDR text (the key of a known place)."""
    ip = _ip(address)
    prefix = policy.ipv4_prefix if ip.version == 4 else policy.ipv6_prefix
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def in_office_hours(now: datetime, policy: LoginRiskPolicy) -> bool:
    if now.tzinfo is None:
        raise ValueError("naive datetime given; use aware datetimes")
    local = now.astimezone(policy.timezone).time().replace(tzinfo=None)
    start, end = policy.hours_start, policy.hours_end
    if start == end:
        return True
    if start < end:
        return start <= local < end
    return local >= start or local < end


def assess(history: PlaceHistory, address: str, now: datetime, policy: LoginRiskPolicy) -> LoginRisk:
    """The reasons this sign-in is unusual (none while learning or from a trusted network)."""
    ip = _ip(address)
    network = place_of(address, policy)
    trusted = any(ip.version == net.version and ip in net for net in policy.trusted)
    learning = history.sign_ins < policy.learning_sign_ins
    if trusted or learning:
        return LoginRisk(network, trusted, learning)
    reasons = []
    if network not in history.known:
        reasons.append(RiskReason("new_place", f"signed in from {network}, a network this account has not "
                                               "signed in from before"))
    if not in_office_hours(now, policy):
        local = now.astimezone(policy.timezone)
        hours = f"{policy.hours_start:%H:%M}-{policy.hours_end:%H:%M}"
        reasons.append(RiskReason("odd_hour", f"signed in at {local:%H:%M} ({policy.timezone}), "
                                              f"outside office hours {hours}"))
    return LoginRisk(network, trusted, learning, tuple(reasons))
