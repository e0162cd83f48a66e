"""The order of the workbench queues and the priority reasons in words (pure).

Emergencies and alarmed items are pinned on top (emergencies first), then the rest by priority (1 first),
then by SLA due time (none last), then the most recent activity first. A guarded item (a complaint at level 3 or
above, or an SLA about to breach) is ranked as if it had the largest profile lift, and wins a tie, so that a
customer's value and loyalty never carry another item past it (`profiles.priority.queue_rank`). Both the
conversation queue and the work-order queues sort with `queue_key`, so a live refresh always yields the same
order.

The priority rule (`model.priority_of`) gives its reasons as short English strings ("tier private +2");
`reason_keys` turns them, and the triage's complaint types, into stable keys that the pages translate."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from caredesk.customers.tiers import TIER_WEIGHT
from caredesk.profiles.priority import queue_rank
from caredesk.workorders.model import parse_priority_reason

__all__ = ["QueueFacts", "Reason", "ordered", "queue_key", "reason_key_names", "reason_keys"]

T = TypeVar("T")

_NO_DUE = datetime.max  # sorts after every due time (the key compares naive datetimes only, see below)
_URGENCIES = ("urgent", "attention")  # "general" adds the base weight only: not a reason worth a word
_EMOTIONS = ("angry", "anxious")
_COMPLAINTS = ("self_harm", "regulator", "media", "lawsuit", "repeated", "compensation", "abuse")
_PROFILE = {"value": ("high",), "loyalty": ("high",), "vip_emotion": ("strong",)}  # profiles/priority.py


@dataclass(frozen=True)
class QueueFacts:
    """What the queue order looks at for one row."""

    emergency: bool
    alarmed: bool
    priority: int
    next_due_at: datetime | None
    last_activity: datetime
    guarded: bool = False  # a complaint at level 3+ or an SLA about to breach (profiles.priority.guarded)


def _naive_utc(moment: datetime) -> datetime:
    """Aware times compared as UTC; SQLite hands back naive UTC times, PostgreSQL aware ones."""
    if moment.tzinfo is None:
        return moment
    offset = moment.utcoffset()
    return moment.replace(tzinfo=None) - offset if offset else moment.replace(tzinfo=None)


def queue_key(f: QueueFacts) -> tuple[int, int, int, datetime, float]:
    """Smaller sorts first: pinned (emergency 0, alarm 1, else 2), rank (the priority; guarded items lifted),
    guarded before not, due time, newest activity."""
    pin = 0 if f.emergency else 1 if f.alarmed else 2
    due = _naive_utc(f.next_due_at) if f.next_due_at is not None else _NO_DUE
    activity = _naive_utc(f.last_activity)
    return (pin, queue_rank(f.priority, f.guarded), 0 if f.guarded else 1, due,
            -(activity - datetime(1970, 1, 1)).total_seconds())


def ordered(items: Iterable[T], facts: Callable[[T], QueueFacts]) -> list[T]:
    """The items in queue order (stable: ties keep the order they came in)."""
    return sorted(items, key=lambda item: queue_key(facts(item)))


@dataclass(frozen=True)
class Reason:
    """One reason in a stable form: `key` is translated by the pages ("" when unknown: show `text`)."""

    key: str
    text: str


def reason_key_names() -> tuple[str, ...]:
    """Every key `reason_keys` can give (the pages' catalogs must translate each)."""
    tiers = tuple(k for k, w in TIER_WEIGHT.items() if w)
    return ("unconfirmed_emergency", *(f"urgency.{u}" for u in _URGENCIES), *(f"tier.{t}" for t in tiers),
            *(f"emotion.{e}" for e in _EMOTIONS), *(f"{code}.{v}" for code, vs in _PROFILE.items() for v in vs),
            *(f"complaint.{c}" for c in _COMPLAINTS))


def _parse(reason: str) -> Reason:
    found = parse_priority_reason(reason)
    if found is None:
        return Reason("", reason)
    if found.code == "unconfirmed":
        return Reason("unconfirmed_emergency", reason)
    known = {"urgency": _URGENCIES, "tier": tuple(k for k, w in TIER_WEIGHT.items() if w), "emotion": _EMOTIONS,
             **_PROFILE}
    if found.value in known.get(found.code, ()):
        return Reason(f"{found.code}.{found.value}", reason)
    return Reason("", reason)


def reason_keys(priority_reasons: Sequence[str], complaint_types: Sequence[str] = ()) -> list[Reason]:
    """The rule's reasons that moved the priority, then the complaint types that make the case serious
    (regulator threat, repeated contact...), each once; "urgency general" is left out (it is the base)."""
    out: list[Reason] = []
    for text in priority_reasons:
        reason = _parse(text)
        if reason.key or not text.startswith("urgency "):
            out.append(reason)
    out += [Reason(f"complaint.{kind}", kind) for kind in _COMPLAINTS if kind in complaint_types]
    unique: dict[str, Reason] = {}
    for r in out:
        unique.setdefault(r.key or r.text, r)
    return list(unique.values())
