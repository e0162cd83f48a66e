"""From the domain's events to public events and their deliveries. A handler runs after the source event's
commit (from the outbox, at least once): it builds the public event, and when any active subscription wants it
stores it with one pending delivery per subscription, in one transaction. The event's id comes from its source,
so running again finds it stored and adds nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from caredesk.alarms.events import AlarmChanged
from caredesk.clock import Clock, Remembered
from caredesk.compliance.masking import mask_text
from caredesk.events import DomainEvent
from caredesk.intake.events import MessageReceived
from caredesk.integrations.webhooks.catalog import event_id, milestone_type, wants
from caredesk.integrations.webhooks.events import DeliveriesDue
from caredesk.storage.orm import (
    Alarm,
    Conversation,
    Customer,
    Department,
    Message,
    SatisfactionSurvey,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
    WorkOrder,
    WorkOrderEvent,
)
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.workorders.events import WorkOrderMilestone

__all__ = ["ActiveSubscriptions", "FanOutDeps", "PublicEvent", "fan_out", "from_alarm", "from_message",
           "from_milestone", "publisher"]

# Timeline data worth passing on (ids and labels; a note or a reply text never is).
_TIMELINE_KEYS = ("from", "to", "target", "kind", "policy", "meeting_id", "department", "from_department",
                  "to_department", "assignee_id", "staff_id", "skill_group", "rating")


@dataclass(frozen=True)
class PublicEvent:
    """`data`: ids, labels and masked text; `personal`: the unmasked fields that replace them for a
    subscription allowed to receive personal data."""

    id: str
    type: str
    created_at: datetime
    data: dict[str, Any]
    personal: dict[str, Any] = field(default_factory=dict)


def from_message(s: Session, event: MessageReceived) -> list[PublicEvent]:
    message = s.get(Message, event.message_id)
    conversation = s.get(Conversation, event.conversation_id)
    if message is None or conversation is None:
        return []
    at = message.created_at
    ids = {"conversation_id": conversation.id, "message_id": message.id, "channel": conversation.channel,
           "customer_id": conversation.customer_id}
    customer = s.get(Customer, conversation.customer_id)
    personal: dict[str, Any] = {"text": message.text}
    if customer is not None:
        personal["customer"] = {"name": customer.name, "phone": customer.phone, "email": customer.email}
    received = PublicEvent(event_id("message.received", message.id), "message.received", at,
                           ids | {"language": message.language, "text": message.text_masked}, personal)
    decided = PublicEvent(event_id("decision.made", message.id), "decision.made", at,
                          ids | {"decision": event.decision, "clarification": event.clarification,
                                 "urgency": event.urgency, "alarm_id": event.alarm_id})
    return [received, decided]


def _order_data(s: Session, order: WorkOrder) -> dict[str, Any]:
    department = s.get(Department, order.department_id) if order.department_id else None
    return {"work_order_id": order.id, "case_number": order.case_number, "status": order.status,
            "priority": order.priority, "urgency": order.urgency, "problem_type": order.problem_type,
            "content_type": order.content_type, "flow": order.flow, "step": order.step,
            "department": department.code if department else None, "assignee_id": order.assignee_id,
            "conversation_id": order.conversation_id, "customer_id": order.customer_id,
            "title": order.title}  # the title is the triage's masked text


def from_milestone(s: Session, event: WorkOrderMilestone) -> list[PublicEvent]:
    entry = s.scalar(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == event.work_order_id,
                                                  WorkOrderEvent.seq == event.seq))
    order = s.get(WorkOrder, event.work_order_id)
    if entry is None or order is None:
        return []
    kind = milestone_type(entry.kind, entry.data or {})
    if kind is None:
        return []
    data = _order_data(s, order) | {"timeline": {"seq": entry.seq, "kind": entry.kind, "actor": entry.actor,
                                                  **{k: v for k, v in (entry.data or {}).items()
                                                     if k in _TIMELINE_KEYS}}}
    personal: dict[str, Any] = {}
    if kind == "survey.answered":
        survey = s.scalar(select(SatisfactionSurvey).where(SatisfactionSurvey.work_order_id == order.id))
        if survey is not None:
            data |= {"survey_id": survey.id, "rating": survey.rating, "comment": mask_text(survey.comment)[0]}
            personal = {"comment": survey.comment}
    return [PublicEvent(event_id(kind, order.id, str(entry.seq)), kind, entry.created_at, data, personal)]


def from_alarm(s: Session, event: AlarmChanged) -> list[PublicEvent]:
    kind = {"raised": "alarm.raised", "acknowledged": "alarm.acknowledged"}.get(event.change)
    alarm = s.get(Alarm, event.alarm_id) if kind else None
    if kind is None or alarm is None:
        return []
    at = alarm.acknowledged_at if kind == "alarm.acknowledged" and alarm.acknowledged_at else alarm.created_at
    data = {"alarm_id": alarm.id, "conversation_id": alarm.conversation_id, "status": alarm.status,
            "level": alarm.level, "count": alarm.count, "threshold": alarm.threshold,
            "message_ids": list(alarm.message_ids or []), "escalation_level": alarm.escalation_level,
            "acknowledged_by": alarm.acknowledged_by}
    return [PublicEvent(event_id(kind, alarm.id), kind, at, data)]


def fan_out(s: Session, events: list[PublicEvent], *, now: datetime) -> list[str]:
    """Store each event wanted by an active subscription, with its pending deliveries (the caller commits).
    The new deliveries' ids."""
    subscriptions = list(s.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True))))
    made: list[str] = []
    for event in events:
        targets = [sub for sub in subscriptions if wants(sub.events, event.type)]
        if not targets or s.get(WebhookEvent, event.id) is not None:
            continue
        s.add(WebhookEvent(id=event.id, type=event.type, data=event.data, created_at=event.created_at,
                           personal=json.dumps(event.personal, ensure_ascii=False) if event.personal else None))
        s.flush()
        for sub in targets:
            delivery = WebhookDelivery(subscription_id=sub.id, event_id=event.id, event_type=event.type,
                                       status="pending", attempts=0, next_attempt_at=now, created_at=now)
            s.add(delivery)
            s.flush()
            made.append(delivery.id)
    return made


class FanOutDeps(Protocol):
    clock: Clock
    session_factory: sessionmaker[Session]

    def uow(self) -> UnitOfWork: ...


class ActiveSubscriptions:
    """Whether any subscription is active, as this process last read it, trusted for `ttl`: a site without
    webhooks (most) then reads nothing per domain event. A stale "yes" costs nothing wrong: fan_out reads the
    subscriptions themselves."""

    def __init__(self, ttl: timedelta) -> None:
        self.ttl = ttl
        self._seen: Remembered[bool] = Remembered()

    def any(self, session_factory: sessionmaker[Session], now: datetime) -> bool:
        def read() -> bool:
            with session_factory() as s:
                active = select(WebhookSubscription.id).where(WebhookSubscription.active.is_(True)).limit(1)
                return s.scalar(active) is not None

        return self._seen.get(now, self.ttl, read)


E = TypeVar("E", bound=DomainEvent)


def publisher(deps: FanOutDeps, build: Callable[[Session, E], list[PublicEvent]],
              subscriptions: ActiveSubscriptions) -> Callable[[E], None]:
    """The subscriber of a domain event: its public events and deliveries in one transaction, then a kick
    for the sender (after the commit)."""

    def handle(event: E) -> None:
        if not subscriptions.any(deps.session_factory, deps.clock.now()):  # most sites: no write, no building
            return
        with deps.uow() as uow:
            made = fan_out(uow.session, build(uow.session, event), now=deps.clock.now())
            if made:
                uow.record(DeliveriesDue(len(made)))
            uow.commit()

    return handle
