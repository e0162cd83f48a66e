"""Work-order statuses, their categories (what the SLA engine sees) and the allowed transitions. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from caredesk.customers.tiers import TIER_WEIGHT
from caredesk.errors import Conflict
from caredesk.profiles.priority import ProfileLift

__all__ = ["EMERGENCY_REASON", "NOTE_CODES", "PRIORITY_REASONS", "TRANSITIONS", "UNCONFIRMED_REASON",
           "PriorityReason", "Status", "StatusCategory", "category_of", "check_transition", "parse_priority_reason",
           "priority_of"]


class StatusCategory(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Status(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


_CATEGORY = {
    Status.NEW: StatusCategory.OPEN,
    Status.IN_PROGRESS: StatusCategory.OPEN,
    Status.REOPENED: StatusCategory.OPEN,
    Status.WAITING_CUSTOMER: StatusCategory.PAUSED,
    Status.RESOLVED: StatusCategory.RESOLVED,
    Status.CLOSED: StatusCategory.CLOSED,
}

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.IN_PROGRESS, Status.WAITING_CUSTOMER, Status.RESOLVED, Status.CLOSED}),
    Status.IN_PROGRESS: frozenset({Status.WAITING_CUSTOMER, Status.RESOLVED, Status.CLOSED}),
    Status.WAITING_CUSTOMER: frozenset({Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.REOPENED}),
    Status.REOPENED: frozenset({Status.IN_PROGRESS, Status.WAITING_CUSTOMER, Status.RESOLVED, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.REOPENED}),
}


def category_of(status: Status) -> StatusCategory:
    return _CATEGORY[status]


def check_transition(current: str, target: str) -> Status:
    try:
        src = Status(current)
    except ValueError:
        raise Conflict(f"the work order has an unknown status {current!r}") from None
    try:
        dst = Status(target)
    except ValueError:
        raise Conflict(f"unknown status {target!r}", allowed=[s.value for s in Status]) from None
    if dst not in TRANSITIONS[src]:
        raise Conflict(f"a work order cannot go from {src} to {dst}",
                       allowed=sorted(s.value for s in TRANSITIONS[src]))
    return dst


# A priority reason is "<code> <value> +<weight>" (`urgency urgent +3`), or the held-emergency note; the codes are
# stable (the pages translate them), the strings are what the order's event log and the API keep.
PRIORITY_REASONS = ("urgency", "tier", "emotion", "value", "loyalty", "vip_emotion", "unconfirmed", "emergency")
# The stable codes of the notes the system writes on an order's timeline (`data.note_code`, with
# `data.note_params`); the English note stays as written and the pages translate the code.
NOTE_CODES = ("emergency_unconfirmed", "handoff_requested", "reopened_by_customer", "emergency_started",
              "merged_into", "vip_emotion_lead_told", "lookup_failed")
UNCONFIRMED_REASON = "urgent, unconfirmed: a lead confirms the emergency"
EMERGENCY_REASON = "emergency response started"
_URGENCY_WEIGHT = {"urgent": 3, "attention": 2, "general": 1}
_EMOTION_WEIGHT = {"angry": 1, "anxious": 1}


@dataclass(frozen=True)
class PriorityReason:
    """A stored priority reason read back: `code` is one of PRIORITY_REASONS; `value` and `weight` are empty for
    the held-emergency and started-emergency notes."""

    code: str
    value: str = ""
    weight: str = ""


_PRIORITY_REASON = re.compile(r"^(urgency|tier|emotion|value|loyalty|vip_emotion) (\S+) \+(\d+)$")


def parse_priority_reason(reason: str) -> PriorityReason | None:
    """The inverse of `priority_of`'s strings (and the two emergency notes); None for any other text."""
    if reason == UNCONFIRMED_REASON:
        return PriorityReason("unconfirmed")
    if reason == EMERGENCY_REASON:
        return PriorityReason("emergency")
    found = _PRIORITY_REASON.match(reason)
    return PriorityReason(*found.groups()) if found else None


def priority_of(urgency: str, tier: str, emotion: str, lift: ProfileLift | None = None) -> tuple[int, list[str]]:
    """1 (highest) to 5, with the reasons that moved it; `lift`: what the customer's profile adds (value,
    loyalty, strong emotion from a high-tier customer: profiles/priority.py), its reasons after the others."""
    score = _URGENCY_WEIGHT.get(urgency, 1) + TIER_WEIGHT.get(tier, 0) + _EMOTION_WEIGHT.get(emotion, 0)
    score += lift.weight if lift else 0
    reasons = [f"urgency {urgency} +{_URGENCY_WEIGHT.get(urgency, 1)}"]
    if TIER_WEIGHT.get(tier):
        reasons.append(f"tier {tier} +{TIER_WEIGHT[tier]}")
    if _EMOTION_WEIGHT.get(emotion):
        reasons.append(f"emotion {emotion} +1")
    if lift:
        reasons += lift.reasons
    return max(1, 6 - score), reasons
