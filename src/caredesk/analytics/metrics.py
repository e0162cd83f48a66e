"""Every service metric, defined once: pure functions over roll-up sums or over plain typed rows, so that the
overview API, the threshold alerts and the dashboards cannot disagree (docs/analytics-metrics.md gives each
definition in words). A rate whose denominator is zero is None: "no data", never 0 or 1.

The storage reads that feed them live in analytics/order_figures.py and analytics/overview.py."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["AGE_BANDS", "FCR_WINDOW", "HANDLING_GAP_CAP", "SATISFIED", "AgentAction", "AnsweredOrder", "Csat",
           "Durations", "HandlingTime", "ResolvedOrder", "age_band", "auto_response_rate", "backlog_by_band", "csat",
           "csat_from_sums", "durations", "first_contact_resolution_rate", "first_contact_resolved",
           "first_response_by_agent", "handling_time", "handoff_rate", "percentile", "rate", "reopen_rate",
           "response_failure_rate", "sla_met_rate", "volumes"]

SATISFIED = 4  # a survey rating at or above this (of 1-5) is "satisfied"
FCR_WINDOW = timedelta(days=7)  # a second order from the same customer within this after the first: not FCR
# Backlog age bands: (label, upper bound exclusive); the last band is open-ended.
HANDLING_GAP_CAP = timedelta(minutes=30)  # a longer gap between an agent's actions is a break, not handling
AGE_BANDS: tuple[tuple[str, timedelta | None], ...] = (
    ("<4h", timedelta(hours=4)), ("4-24h", timedelta(days=1)), ("1-3d", timedelta(days=3)),
    ("3-7d", timedelta(days=7)), (">=7d", None))


def rate(part: int, whole: int) -> float | None:
    """part / whole, None when nothing was counted."""
    return part / whole if whole > 0 else None


def volumes(sums: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """{dimension: {value: messages}} from roll-up sums, each dimension's values busiest first; zero counts out."""
    return {dim: dict(sorted(((v, n) for v, n in values.items() if n), key=lambda kv: (-kv[1], kv[0])))
            for dim, values in sums.items()}


def auto_response_rate(totals: Mapping[str, int]) -> float | None:
    """Customer messages answered from the knowledge base without a person (counter auto_answered) / messages."""
    return rate(totals.get("auto_answered", 0), totals.get("messages", 0))


def response_failure_rate(totals: Mapping[str, int]) -> float | None:
    """Customer messages the bot tried and could not answer (counter unanswered: no entry, none good enough, a
    clarifying question, out of scope: analytics/facts.py BOT_COULD_NOT_ANSWER) / messages."""
    return rate(totals.get("unanswered", 0), totals.get("messages", 0))


def handoff_rate(totals: Mapping[str, int]) -> float | None:
    """Customer messages that went to a person (a work order or a hand-off; emergencies are apart) / messages."""
    return rate(totals.get("handed_off", 0), totals.get("messages", 0))


@dataclass(frozen=True, slots=True)
class ResolvedOrder:
    """A work order resolved in the period, as the first-contact-resolution and reopen rates see it."""

    created_at: datetime
    reopened: bool  # its log has a status change to reopened
    next_order_at: datetime | None  # the same customer's next order after this one (None: none)


def first_contact_resolved(order: ResolvedOrder, window: timedelta = FCR_WINDOW) -> bool:
    """Resolved at the first contact: never reopened, and the customer did not come back with another order
    within `window` of this one's opening."""
    return not order.reopened and (order.next_order_at is None or order.next_order_at - order.created_at > window)


def first_contact_resolution_rate(resolved: int, first_contact: int) -> float | None:
    """Orders resolved in the period that were resolved at the first contact / orders resolved in the period."""
    return rate(first_contact, resolved)


def reopen_rate(resolved: int, reopened: int) -> float | None:
    """Orders resolved in the period that had been reopened at least once / orders resolved in the period."""
    return rate(reopened, resolved)


def sla_met_rate(resolved_with_sla: int, breached: int) -> float | None:
    """Orders under an SLA policy resolved in the period whose resolution target was not breached (no
    resolution breach mark) / orders under an SLA policy resolved in the period."""
    return rate(resolved_with_sla - breached, resolved_with_sla)


@dataclass(frozen=True, slots=True)
class Csat:
    average: float | None  # mean rating, 1-5
    satisfied_share: float | None  # share of ratings >= SATISFIED
    answered: int


def csat(ratings: Iterable[int]) -> Csat:
    """Over the surveys answered in the period (a rating is 1-5)."""
    values = list(ratings)
    if not values:
        return Csat(None, None, 0)
    return Csat(sum(values) / len(values), sum(1 for r in values if r >= SATISFIED) / len(values), len(values))


def csat_from_sums(total: int, count: int, satisfied: int) -> Csat:
    """`csat` from the database's SUM, COUNT and count of satisfied ratings (same definition, no row transfer)."""
    if count <= 0:
        return Csat(None, None, 0)
    return Csat(total / count, satisfied / count, count)


def age_band(opened_at: datetime, now: datetime) -> str:
    age = now - opened_at
    for label, upper in AGE_BANDS:
        if upper is None or age < upper:
            return label
    raise AssertionError("the last band is open-ended")


def backlog_by_band(opened: Iterable[datetime], now: datetime) -> dict[str, int]:
    """Open work orders (not resolved or closed) by age band; every band present, in order."""
    out = {label: 0 for label, _ in AGE_BANDS}
    for at in opened:
        out[age_band(at, now)] += 1
    return out


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0-1) by linear interpolation between closest ranks (numpy's default), None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class Durations:
    median_minutes: float | None
    p90_minutes: float | None
    count: int


def durations(spans: Iterable[tuple[datetime, datetime | None]]) -> Durations:
    """Median and p90 of (end - start) in minutes over the spans that ended: first-response time is (opened,
    first staff response) of the orders opened in the period; resolution time (opened, resolved) of the orders
    resolved in the period. Wall-clock minutes, not business minutes (the SLA board has those)."""
    minutes = [(end - start).total_seconds() / 60 for start, end in spans if end is not None and end >= start]
    return Durations(percentile(minutes, 0.5), percentile(minutes, 0.9), len(minutes))


@dataclass(frozen=True, slots=True)
class AnsweredOrder:
    """A work order opened in the period, as the per-agent first-response time sees it."""

    opened_at: datetime
    first_response_at: datetime | None  # None: not answered yet (left out: the backlog shows it)
    responder: str | None  # staff id of who gave the first response (the reply's or resolution's actor)


def first_response_by_agent(orders: Iterable[AnsweredOrder]) -> dict[str, Durations]:
    """Per-agent first-response time: for each staff member, `durations` of (opened, first response) over the
    orders opened in the period whose first response they gave. Orders not answered yet, or answered by no
    staff member (an API client), are left out: an agent is measured on the answers they gave."""
    spans: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for order in orders:
        if order.responder is not None and order.first_response_at is not None:
            spans.setdefault(order.responder, []).append((order.opened_at, order.first_response_at))
    return {who: durations(found) for who, found in spans.items()}


@dataclass(frozen=True, slots=True)
class AgentAction:
    """One entry an agent wrote in a work order's log (a reply, a note, a status change...)."""

    actor: str
    at: datetime
    answers_customer: bool  # a reply or a resolution: one handled contact


@dataclass(frozen=True, slots=True)
class HandlingTime:
    average_seconds: float | None  # None when nothing was measured
    contacts: int  # the answers measured


def handling_time(actions: Iterable[AgentAction], cap: timedelta = HANDLING_GAP_CAP) -> HandlingTime:
    """Average handling time of a contact, measured from the log: an agent's time on an answer is the time
    since their previous action (on any order), the work that led to it; the first action of a stretch, or one
    after a gap longer than `cap` (a break, the end of a shift), gives no measure. The mean over the answers,
    because Erlang C takes the mean."""
    last: dict[str, datetime] = {}
    measured: list[float] = []
    for action in sorted(actions, key=lambda a: (a.actor, a.at)):
        before = last.get(action.actor)
        last[action.actor] = action.at
        if action.answers_customer and before is not None and timedelta(0) < action.at - before <= cap:
            measured.append((action.at - before).total_seconds())
    if not measured:
        return HandlingTime(None, 0)
    return HandlingTime(sum(measured) / len(measured), len(measured))
