"""The public event types (a contract with outside systems: never rename one) and how the domain's own events
map to them. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from caredesk.errors import InvalidInput

__all__ = ["ALL", "EVENT_TYPES", "UnknownEventType", "event_id", "milestone_type", "normalize_events", "wants"]

EVENT_TYPES = ("message.received", "decision.made", "work_order.opened", "work_order.assigned",
               "work_order.transferred", "work_order.resolved", "work_order.closed", "sla.warning", "sla.breached",
               "alarm.raised", "alarm.acknowledged", "emergency.started", "survey.answered")
ALL = "*"

_MILESTONES = {"created": "work_order.opened", "assigned": "work_order.assigned",
               "transferred": "work_order.transferred", "sla_warning": "sla.warning",
               "sla_breached": "sla.breached", "emergency_started": "emergency.started",
               "survey_answered": "survey.answered"}
_STATUSES = {"resolved": "work_order.resolved", "closed": "work_order.closed"}


class UnknownEventType(InvalidInput):
    code = "unknown_event_type"


def normalize_events(events: Iterable[str]) -> list[str]:
    """The subscription's list, deduplicated in catalogue order ("*" alone when given); unknown names refused."""
    given = [e.strip() for e in events]
    if not given:
        raise UnknownEventType("name at least one event type, or \"*\" for all", known=[ALL, *EVENT_TYPES])
    unknown = sorted({e for e in given if e != ALL and e not in EVENT_TYPES})
    if unknown:
        raise UnknownEventType(f"unknown event type(s): {', '.join(unknown)}", unknown=unknown,
                               known=[ALL, *EVENT_TYPES])
    if ALL in given:
        return [ALL]
    return [e for e in EVENT_TYPES if e in given]


def wants(subscribed: Iterable[str], event_type: str) -> bool:
    listed = set(subscribed)
    return ALL in listed or event_type in listed


def milestone_type(kind: str, data: Mapping[str, Any]) -> str | None:
    """The public type of a work-order timeline entry; None for entries outsiders do not get (a status change
    other than to resolved or closed)."""
    if kind == "status_changed":
        return _STATUSES.get(str(data.get("to", "")))
    return _MILESTONES.get(kind)


def event_id(event_type: str, *source: str) -> str:
    """A stable id from what happened: the same source event (delivered again by the relay) gives the same id."""
    return "evt" + hashlib.sha256("\x1f".join((event_type, *source)).encode()).hexdigest()[:29]
