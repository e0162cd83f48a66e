"""Factories for the profile tests: a customer with a history (conversations, customer messages with their
triage, work orders), a `customer_profile` row as the profile model would write it, and the outside sources'
records. Rows are written directly (the profile model and the source fetchers are other modules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.storage.orm import (
    Conversation,
    Customer,
    CustomerProfile,
    CustomerSourceRecord,
    Message,
    TriageResult,
    WorkOrder,
)

__all__ = ["Said", "add_conversation", "add_customer", "add_order", "add_profile", "add_source",
           "customer_with_profile"]


@dataclass(frozen=True)
class Said:
    """One customer message with its triage labels."""

    text: str
    at: datetime
    topic: str | None = None
    emotion: str = "neutral"
    complaint_level: int = 0
    content_type: str = "business"
    problem_type: str = "consultation"
    masked: str | None = None  # defaults to the text


def add_customer(rt: Runtime, ref: str, *, branch_id: str | None = None, tier: str = "standard",
                 created_at: datetime, **pii: Any) -> str:
    with rt.uow() as uow:
        customer = Customer(ref=ref, tier=tier, branch_id=branch_id, created_at=created_at, **pii)
        uow.session.add(customer)
        uow.commit()
        return customer.id


def add_conversation(rt: Runtime, customer_id: str, said: list[Said], *, channel: str = "chat",
                     assigned_staff_id: str | None = None) -> str:
    with rt.uow() as uow:
        s = uow.session
        conv = Conversation(customer_id=customer_id, channel=channel, created_at=said[0].at,
                            last_message_at=said[-1].at, assigned_staff_id=assigned_staff_id)
        s.add(conv)
        s.flush()
        for item in said:
            message = Message(conversation_id=conv.id, direction="in", author="customer", text=item.text,
                              text_masked=item.masked or item.text, language="zh", created_at=item.at)
            s.add(message)
            s.flush()
            s.add(TriageResult(message_id=message.id, model_version="test", language="zh",
                               content_type=item.content_type, content_type_confidence=0.9,
                               problem_type=item.problem_type, problem_type_confidence=0.9, urgency="general",
                               urgency_confidence=0.9, emotion=item.emotion, complaint_level=item.complaint_level,
                               complaint_types=[], topic=item.topic, entities=[], explanation={},
                               decision_kind="work_order", decision_reason="test", created_at=item.at))
        uow.commit()
        return conv.id


def add_order(rt: Runtime, customer_id: str, title: str, *, created_at: datetime, status: str = "closed",
              resolution: str | None = None, ended_at: datetime | None = None, conversation_id: str | None = None,
              assignee_id: str | None = None) -> str:
    category = {"closed": "closed", "resolved": "resolved", "waiting_customer": "paused"}.get(status, "open")
    with rt.uow() as uow:
        order = WorkOrder(conversation_id=conversation_id, customer_id=customer_id, title=title, description=title,
                          content_type="business", problem_type="complaint", urgency="general", priority=3,
                          flow="complaint", step="handle", status=status, status_category=category,
                          created_at=created_at, updated_at=created_at, assignee_id=assignee_id,
                          fields={"resolution": resolution} if resolution else {},
                          resolved_at=ended_at if category in ("resolved", "closed") else None,
                          closed_at=ended_at if category == "closed" else None)
        uow.session.add(order)
        uow.commit()
        return order.id


def add_profile(rt: Runtime, customer_id: str, *, updated_at: datetime, **values: Any) -> None:
    defaults: dict[str, Any] = {
        "features": {"contacts_30d": 4.0, "complaints_90d": 2.0}, "value_score": 0.82, "loyalty_score": 0.64,
        "escalation_risk": 0.35, "segment": "high_value", "tags": ["高价值"],
        "drivers": {"value_score": [{"feature": "balance_band", "weight": 0.41}],
                    "escalation_risk": [{"feature": "complaints_90d", "weight": 0.3}]},
        "emotion_current": "anxious", "emotion_trend": "rising", "model_version": "profile-test-1"}
    with rt.uow() as uow:
        uow.session.add(CustomerProfile(customer_id=customer_id, updated_at=updated_at, features_at=updated_at,
                                        **(defaults | values)))
        uow.commit()


def add_source(rt: Runtime, customer_id: str, source: str, *, status: str, fetched_at: datetime | None,
               updated_at: datetime, fields: dict[str, Any] | None = None, error: str | None = None,
               expires_at: datetime | None = None) -> None:
    with rt.uow() as uow:
        uow.session.add(CustomerSourceRecord(customer_id=customer_id, source=source, fields=fields or {},
                                             status=status, error=error, fetched_at=fetched_at,
                                             expires_at=expires_at, updated_at=updated_at))
        uow.commit()


def customer_with_profile(rt: Runtime, ref: str, *, tier: str = "standard", value: float | None = None,
                          loyalty: float | None = None, emotion: str | None = None, tags: tuple[str, ...] = (),
                          now: datetime | None = None, profile: bool = True) -> str:
    """The customer's id: created with `tier` (or updated to it) and, unless `profile` is False, given a profile
    with these scores."""
    at = now or rt.clock.now()
    with rt.uow() as uow:
        s = uow.session
        customer = s.scalar(select(Customer).where(Customer.ref == ref))
        if customer is None:
            customer = Customer(ref=ref, tier=tier, created_at=at)
            s.add(customer)
        customer.tier = tier
        s.flush()
        if profile:
            s.merge(CustomerProfile(customer_id=customer.id, features={}, value_score=value, loyalty_score=loyalty,
                                    escalation_risk=None, segment=None, tags=list(tags), drivers={},
                                    emotion_current=emotion, emotion_trend=None, updated_at=at))
        customer_id = customer.id
        uow.commit()
    return customer_id
