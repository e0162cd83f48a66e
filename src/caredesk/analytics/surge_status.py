"""A surge's statuses, its allowed moves, and what one hour's judgement does to a series' surge. Pure.

A surge stays active (open or acknowledged) while its series keeps surging and for `QUIET_HOURS_TO_RESOLVE`
hours after; an hour that surges again within them extends it, so one rise is one surge (never two active
for one series)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from caredesk.moves import check_move

__all__ = ["ACTIVE", "QUIET_HOURS_TO_RESOLVE", "SURGE_MOVES", "SurgeStatus", "SurgeStep", "check_surge_move",
           "next_step"]

QUIET_HOURS_TO_RESOLVE = 3


class SurgeStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


ACTIVE = frozenset({SurgeStatus.OPEN, SurgeStatus.ACKNOWLEDGED})

SURGE_MOVES: Mapping[SurgeStatus, frozenset[SurgeStatus]] = MappingProxyType({
    SurgeStatus.OPEN: frozenset({SurgeStatus.ACKNOWLEDGED, SurgeStatus.RESOLVED}),
    SurgeStatus.ACKNOWLEDGED: frozenset({SurgeStatus.RESOLVED}),
    SurgeStatus.RESOLVED: frozenset(),
})


def check_surge_move(current: str, new: SurgeStatus) -> SurgeStatus:
    return check_move(SURGE_MOVES, current, new, noun="surge")


class SurgeStep(StrEnum):
    OPEN = "open"  # no active surge and this hour surges: a new one
    EXTEND = "extend"  # the active one goes on to this hour
    WAIT = "wait"  # the active one is quiet this hour, not yet for long enough
    RESOLVE = "resolve"  # quiet for long enough: resolved on its own
    NONE = "none"


def next_step(*, active: bool, surging: bool, quiet_hours: int) -> SurgeStep:
    """`quiet_hours`: the complete hours since the active surge's window ended, this one included."""
    if surging:
        return SurgeStep.EXTEND if active else SurgeStep.OPEN
    if not active:
        return SurgeStep.NONE
    return SurgeStep.RESOLVE if quiet_hours >= QUIET_HOURS_TO_RESOLVE else SurgeStep.WAIT
