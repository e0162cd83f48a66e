"""A customer's history as the profile reads it: the time-ordered records of our own systems (customer messages
with their triage, work orders and their outcomes, surveys, callbacks, alarms, emergencies) and what the outside
sources said (mapped fields only), cleaned and deduplicated.

`collect_histories` reads many customers in a fixed number of queries (training reads them all); `clean_*`
are pure: the same message stored twice (a retried request), events out of order, surveys without an answer,
orders merged into another."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.storage.orm import (
    Alarm,
    CallbackTask,
    Conversation,
    Customer,
    CustomerSourceRecord,
    EmergencyMeeting,
    Message,
    SatisfactionSurvey,
    TriageResult,
    WorkOrder,
    WorkOrderEvent,
)

__all__ = ["AlarmRecord", "CallbackRecord", "EmergencyRecord", "History", "Interaction", "OrderRecord",
           "SourceFacts", "SurveyRecord", "clean_interactions", "collect_histories", "collect_history"]

RETRY_WINDOW = timedelta(minutes=2)  # the same text in the same conversation within this: one message sent twice
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Interaction:
    """One customer message with its triage (labels only; `fingerprint` is a hash of the masked text)."""

    at: datetime
    message_id: str
    conversation_id: str
    channel: str
    topic: str | None = None
    product: str | None = None
    emotion: str = "neutral"
    complaint_level: int = 0
    complaint_types: tuple[str, ...] = ()
    problem_type: str | None = None
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class OrderRecord:
    at: datetime  # created
    id: str
    topic: str | None
    status_category: str  # open | paused | resolved | closed
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reopened: int = 0
    reopened_at: tuple[datetime, ...] = ()

    def as_of(self, cutoff: datetime) -> OrderRecord:
        """The order as it stood at `cutoff` (its later resolution and reopenings not yet known)."""
        reopens = tuple(t for t in self.reopened_at if t < cutoff)
        closed = self.closed_at if self.closed_at and self.closed_at < cutoff else None
        resolved = self.resolved_at if self.resolved_at and self.resolved_at < cutoff else None
        if closed is not None:
            category = "closed"
        elif resolved is not None:
            category = "resolved"
        else:  # open then, or paused when that is what it is now (the pauses' times are not read)
            category = "paused" if self.status_category == "paused" else "open"
        return replace(self, status_category=category, resolved_at=resolved, closed_at=closed,
                       reopened=len(reopens), reopened_at=reopens)


@dataclass(frozen=True, slots=True)
class SurveyRecord:
    at: datetime  # answered
    work_order_id: str
    rating: int


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    at: datetime  # created
    work_order_id: str
    done: bool


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    at: datetime
    id: str
    level: int


@dataclass(frozen=True, slots=True)
class EmergencyRecord:
    at: datetime
    id: str


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """What one outside source last said (mapped fields only) and whether that is fresh."""

    source: str
    status: str  # ok | stale | failed
    fetched_at: datetime | None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class History:
    customer_id: str
    tier: str = "standard"
    interactions: tuple[Interaction, ...] = ()
    orders: tuple[OrderRecord, ...] = ()
    surveys: tuple[SurveyRecord, ...] = ()
    callbacks: tuple[CallbackRecord, ...] = ()
    alarms: tuple[AlarmRecord, ...] = ()
    emergencies: tuple[EmergencyRecord, ...] = ()
    sources: tuple[SourceFacts, ...] = ()

    def family(self, name: str) -> Sequence[Any]:
        return tuple(getattr(self, name))

    @property
    def first_at(self) -> datetime | None:
        times = [r.at for name in ("interactions", "orders", "surveys", "alarms") for r in self.family(name)[:1]]
        return min(times) if times else None

    def until(self, cutoff: datetime) -> History:
        """What was known just before `cutoff` (training: features before a cut-off, outcomes after it). Outside
        sources have no history: only those fetched before the cut-off count."""
        return History(self.customer_id, self.tier,
                       tuple(i for i in self.interactions if i.at < cutoff),
                       tuple(o.as_of(cutoff) for o in self.orders if o.at < cutoff),
                       tuple(s for s in self.surveys if s.at < cutoff),
                       tuple(c for c in self.callbacks if c.at < cutoff),
                       tuple(a for a in self.alarms if a.at < cutoff),
                       tuple(e for e in self.emergencies if e.at < cutoff),
                       tuple(s for s in self.sources if s.fetched_at is not None and s.fetched_at < cutoff))


def _fingerprint(text: str) -> str:
    return hashlib.blake2b(" ".join(text.split()).encode("utf-8"), digest_size=8).hexdigest()


def clean_interactions(rows: Iterable[Interaction]) -> tuple[Interaction, ...]:
    """Time order (ties by id), one row per message id, and a message whose text repeats the previous one of
    the same conversation within RETRY_WINDOW dropped (a client retry stored twice)."""
    ordered = sorted({r.message_id: r for r in rows}.values(), key=lambda r: (r.at, r.message_id))
    kept: list[Interaction] = []
    last: dict[str, Interaction] = {}
    for r in ordered:
        prev = last.get(r.conversation_id)
        if (prev is not None and r.fingerprint and r.fingerprint == prev.fingerprint
                and r.at - prev.at <= RETRY_WINDOW):
            continue
        last[r.conversation_id] = r
        kept.append(r)
    return tuple(kept)


def _by_time(rows: Iterable[Any], key: str = "id") -> tuple[Any, ...]:
    unique = {getattr(r, key): r for r in rows}
    return tuple(sorted(unique.values(), key=lambda r: (r.at, getattr(r, key))))


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def _collect_chunk(session: Session, ids: Sequence[str], out: dict[str, dict[str, list[Any]]]) -> None:
    def bucket(cid: str, name: str) -> list[Any]:
        return out[cid].setdefault(name, [])

    rows = session.execute(
        select(Conversation.customer_id, Message.id, Message.conversation_id, Message.created_at,
               Message.text_masked, Conversation.channel, TriageResult.topic, TriageResult.product,
               TriageResult.emotion, TriageResult.complaint_level, TriageResult.complaint_types,
               TriageResult.problem_type)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(TriageResult, TriageResult.message_id == Message.id)
        .where(Conversation.customer_id.in_(ids), Message.direction == "in"))
    for cid, mid, conv, at, masked, channel, topic, product, emotion, level, types, problem in rows:
        bucket(cid, "interactions").append(Interaction(
            at, mid, conv, channel, topic, product, emotion or "neutral", int(level or 0), tuple(types or ()),
            problem, _fingerprint(masked or "")))
    orders = session.execute(
        select(WorkOrder.customer_id, WorkOrder.id, WorkOrder.created_at, WorkOrder.category,
               WorkOrder.status_category, WorkOrder.resolved_at, WorkOrder.closed_at)
        .where(WorkOrder.customer_id.in_(ids), WorkOrder.merged_into_id.is_(None))).all()
    order_ids = [o[1] for o in orders]
    reopens: dict[str, list[datetime]] = {}
    customer_of = {o[1]: o[0] for o in orders}
    for chunk in _chunks(order_ids):
        events = session.execute(select(WorkOrderEvent.work_order_id, WorkOrderEvent.created_at, WorkOrderEvent.data)
                                 .where(WorkOrderEvent.work_order_id.in_(chunk),
                                        WorkOrderEvent.kind == "status_changed"))
        for oid, changed_at, data in events:
            if (data or {}).get("to") == "reopened":
                reopens.setdefault(oid, []).append(changed_at)
        for oid, answered_at, rating in session.execute(
                select(SatisfactionSurvey.work_order_id, SatisfactionSurvey.answered_at, SatisfactionSurvey.rating)
                .where(SatisfactionSurvey.work_order_id.in_(chunk), SatisfactionSurvey.answered_at.is_not(None))):
            owner = customer_of[oid]
            if rating is not None and answered_at is not None and owner is not None:
                bucket(owner, "surveys").append(SurveyRecord(answered_at, oid, int(rating)))
        for oid, created, status in session.execute(
                select(CallbackTask.work_order_id, CallbackTask.created_at, CallbackTask.status)
                .where(CallbackTask.work_order_id.in_(chunk))):
            owner = customer_of[oid]
            if owner is not None:
                bucket(owner, "callbacks").append(CallbackRecord(created, oid, status == "done"))
    for owner_id, oid, created_at, category, status, resolved, closed in orders:
        times = tuple(sorted(reopens.get(oid, ())))
        if owner_id is not None:
            bucket(owner_id, "orders").append(OrderRecord(created_at, oid, category, status, resolved, closed,
                                                          len(times), times))
    for cid, aid, at, level in session.execute(
            select(Conversation.customer_id, Alarm.id, Alarm.created_at, Alarm.level)
            .join(Conversation, Conversation.id == Alarm.conversation_id).where(Conversation.customer_id.in_(ids))):
        bucket(cid, "alarms").append(AlarmRecord(at, aid, int(level)))
    for cid, eid, at in session.execute(
            select(Conversation.customer_id, EmergencyMeeting.id, EmergencyMeeting.created_at)
            .join(Conversation, Conversation.id == EmergencyMeeting.conversation_id)
            .where(Conversation.customer_id.in_(ids))):
        bucket(cid, "emergencies").append(EmergencyRecord(at, eid))
    for rec in session.scalars(select(CustomerSourceRecord).where(CustomerSourceRecord.customer_id.in_(ids))
                               .order_by(CustomerSourceRecord.source)):
        bucket(rec.customer_id, "sources").append(
            SourceFacts(rec.source, rec.status, rec.fetched_at, dict(rec.fields or {})))


def collect_histories(session: Session, customer_ids: Sequence[str]) -> dict[str, History]:
    """{customer_id: cleaned history} for the customers that exist, a fixed number of queries per 500."""
    found: dict[str, History] = {}
    for chunk in _chunks(list(dict.fromkeys(customer_ids))):
        tiers = dict(session.execute(select(Customer.id, Customer.tier).where(Customer.id.in_(chunk))).all())
        raw: dict[str, dict[str, list[Any]]] = {cid: {} for cid in tiers}
        _collect_chunk(session, list(tiers), raw)
        for cid, tier in tiers.items():
            parts = raw[cid]
            found[cid] = History(
                cid, tier or "standard", clean_interactions(parts.get("interactions", ())),
                _by_time(parts.get("orders", ())), _by_time(parts.get("surveys", ()), "work_order_id"),
                tuple(sorted(parts.get("callbacks", ()), key=lambda c: (c.at, c.work_order_id))),
                _by_time(parts.get("alarms", ())), _by_time(parts.get("emergencies", ())),
                tuple(parts.get("sources", ())))
    return found


def collect_history(session: Session, customer_id: str) -> History | None:
    return collect_histories(session, [customer_id]).get(customer_id)
