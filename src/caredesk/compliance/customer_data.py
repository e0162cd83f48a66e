"""A customer's rights over their data (PIPL): an export of everything CareDesk holds about them (contact and
identity data, conversations, work orders, the learned profile and what outside sources said), and erasure
(personal data cleared, message texts removed, the profile and source records deleted). Both are audited
with the reason; the audit entries hold counts and field names, never the data.

Erasure keeps the customer row (reference and tier), the work orders and the triage labels, as retention does,
so that statistics and the orders' history keep their shape; what identifies or describes the person goes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from caredesk.compliance.audit import record_audit
from caredesk.compliance.masking import mask_text
from caredesk.errors import NotFound
from caredesk.storage.orm import (
    CUSTOMER_PII_FIELDS,
    ChannelContact,
    Conversation,
    Customer,
    CustomerProfile,
    CustomerSourceRecord,
    Message,
    MessageDelivery,
    TriageResult,
    WorkOrder,
)
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["ERASED", "ErasureReport", "delete_contact_rows", "delete_profile_rows", "do_erase_customer",
           "do_export_customer", "export_customer"]

ERASED = "[removed at the customer's request]"


@dataclass(frozen=True)
class ErasureReport:
    customer_id: str
    fields: tuple[str, ...]  # personal fields that held a value
    messages: int
    profiles: int
    source_records: int
    contacts: int = 0  # channel contacts (WeChat openid, phone, e-mail address on a channel) deleted


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def delete_profile_rows(session: Session, customer_ids: Sequence[str]) -> tuple[int, int]:
    """Delete the customers' profiles and source records (erasure, retention); (profiles, source records)."""
    if not customer_ids:
        return 0, 0
    counts = []
    for model in (CustomerProfile, CustomerSourceRecord):
        result = cast(CursorResult[Any], session.execute(
            delete(model).where(model.customer_id.in_(customer_ids)).execution_options(synchronize_session=False)))
        counts.append(int(result.rowcount or 0))
    return counts[0], counts[1]


def delete_contact_rows(session: Session, customer_ids: Sequence[str]) -> int:
    """Delete the customers' channel contacts (their addresses are personal data; conversations keep a null
    contact) and give up their messages still waiting to be sent, which would have nowhere to go."""
    if not customer_ids:
        return 0
    conversations = select(Conversation.id).where(Conversation.customer_id.in_(customer_ids))
    session.execute(update(MessageDelivery).where(MessageDelivery.conversation_id.in_(conversations),
                                                  MessageDelivery.status == "pending")
                    .values(status="skipped", last_error="contact erased", claimed_until=None)
                    .execution_options(synchronize_session=False))
    result = cast(CursorResult[Any], session.execute(
        delete(ChannelContact).where(ChannelContact.customer_id.in_(customer_ids))
        .execution_options(synchronize_session=False)))
    return int(result.rowcount or 0)


def _profile(row: CustomerProfile | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"features": row.features, "value_score": row.value_score, "loyalty_score": row.loyalty_score,
            "escalation_risk": row.escalation_risk, "segment": row.segment, "tags": list(row.tags or ()),
            "drivers": row.drivers, "emotion_current": row.emotion_current, "emotion_trend": row.emotion_trend,
            "model_version": row.model_version, "features_at": _iso(row.features_at),
            "updated_at": _iso(row.updated_at)}


def export_customer(session: Session, customer_id: str, *, now: datetime) -> dict[str, Any]:
    """Everything held about the customer, unmasked (it is theirs), as JSON-ready values."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer not found", id=customer_id)
    conversations = list(session.scalars(select(Conversation).where(Conversation.customer_id == customer_id)
                                         .order_by(Conversation.created_at, Conversation.id)))
    messages: dict[str, list[dict[str, Any]]] = {c.id: [] for c in conversations}
    rows = session.execute(
        select(Message, TriageResult.topic, TriageResult.emotion)
        .outerjoin(TriageResult, TriageResult.message_id == Message.id)
        .where(Message.conversation_id.in_(list(messages))).order_by(Message.created_at, Message.id))
    for message, topic, emotion in rows:
        messages[message.conversation_id].append({
            "id": message.id, "direction": message.direction, "author": message.author, "text": message.text,
            "created_at": _iso(message.created_at), "topic": topic, "emotion": emotion})
    orders = session.scalars(select(WorkOrder).where(WorkOrder.customer_id == customer_id).order_by(WorkOrder.id))
    sources = session.scalars(select(CustomerSourceRecord).where(CustomerSourceRecord.customer_id == customer_id)
                              .order_by(CustomerSourceRecord.source))
    return {
        "exported_at": now.isoformat(),
        "customer": {"id": customer.id, "ref": customer.ref, "tier": customer.tier, "branch_id": customer.branch_id,
                     "language": customer.language, "created_at": _iso(customer.created_at),
                     **{f: getattr(customer, f) for f in CUSTOMER_PII_FIELDS}},
        "profile": _profile(session.get(CustomerProfile, customer_id)),
        "source_records": [{"source": s.source, "fields": s.fields, "status": s.status, "error": s.error,
                            "fetched_at": _iso(s.fetched_at), "updated_at": _iso(s.updated_at)} for s in sources],
        "conversations": [{"id": c.id, "channel": c.channel, "status": c.status, "created_at": _iso(c.created_at),
                           "messages": messages[c.id]} for c in conversations],
        "work_orders": [{"id": o.id, "case_number": o.case_number, "title": o.title, "status": o.status,
                         "created_at": _iso(o.created_at), "resolved_at": _iso(o.resolved_at),
                         "closed_at": _iso(o.closed_at), "resolution": (o.fields or {}).get("resolution")}
                        for o in orders],
    }


def do_export_customer(uow: UnitOfWork, customer_id: str, *, actor: str, reason: str, now: datetime
                       ) -> dict[str, Any]:
    """The export, audited (`customer.exported`: what parts and how many, with the reason) in one transaction."""
    with uow:
        data = export_customer(uow.session, customer_id, now=now)
        record_audit(uow.session, actor=actor, action="customer.exported", object_type="customer",
                     object_id=customer_id, now=now, data={
                         "reason": mask_text(reason)[0][:500], "profile": data["profile"] is not None,
                         "source_records": len(data["source_records"]),
                         "conversations": len(data["conversations"]), "work_orders": len(data["work_orders"])})
        uow.commit()
    return data


def do_erase_customer(uow: UnitOfWork, customer_id: str, *, actor: str, reason: str, now: datetime
                      ) -> ErasureReport:
    """Erase in one transaction: personal fields cleared (their keyed hashes with them), message texts
    replaced by ERASED, the profile, source records and channel contacts deleted; audited as `customer.erased`."""
    with uow:
        s = uow.session
        customer = s.scalar(select(Customer).where(Customer.id == customer_id).with_for_update())
        if customer is None:
            raise NotFound("customer not found", id=customer_id)
        held = tuple(f for f in CUSTOMER_PII_FIELDS if getattr(customer, f) is not None)
        for field in CUSTOMER_PII_FIELDS:
            setattr(customer, field, None)
        conversation_ids = select(Conversation.id).where(Conversation.customer_id == customer_id)
        erased = cast(CursorResult[Any], s.execute(
            update(Message).where(Message.conversation_id.in_(conversation_ids), Message.text_masked != ERASED)
            .values(text=ERASED, text_masked=ERASED).execution_options(synchronize_session=False)))
        profiles, sources = delete_profile_rows(s, [customer_id])
        contacts = delete_contact_rows(s, [customer_id])
        report = ErasureReport(customer_id, held, int(erased.rowcount or 0), profiles, sources, contacts)
        record_audit(s, actor=actor, action="customer.erased", object_type="customer", object_id=customer_id,
                     now=now, data={"reason": mask_text(reason)[0][:500], "fields": list(held),
                                    "messages": report.messages, "profiles": profiles, "source_records": sources,
                                    "contacts": contacts})
        uow.commit()
    return report
