"""Showing customer data masked by default, and unmasked only to roles allowed to reveal it: each reveal
is a read of sensitive data and goes into the audit log in the same transaction as the read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from caredesk.compliance.audit import record_audit
from caredesk.compliance.masking import mask_text, mask_value
from caredesk.errors import NotFound
from caredesk.storage.orm import Customer, Message
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["CustomerView", "customer_view", "do_reveal_customer", "do_reveal_message", "mask_name"]


def mask_name(name: str) -> str:
    """张伟 -> 张*, Alice Smith -> A**** S****: enough for an agent to address the customer."""
    if not name:
        return name
    if all(ord(ch) > 0x2E80 for ch in name.replace(" ", "")):
        return name[0] + "*" * (len(name) - 1)
    return " ".join(part[:1] + "*" * (len(part) - 1) for part in name.split())


@dataclass(frozen=True)
class CustomerView:
    id: str
    ref: str
    name: str | None
    phone: str | None
    email: str | None
    tier: str
    language: str | None
    masked: bool


def customer_view(customer: Customer, *, reveal: bool = False) -> CustomerView:
    if reveal:
        return CustomerView(customer.id, customer.ref, customer.name, customer.phone, customer.email, customer.tier,
                            customer.language, False)
    return CustomerView(customer.id, customer.ref, mask_name(customer.name) if customer.name else None,
                        mask_value("phone", customer.phone) if customer.phone else None,
                        mask_value("email", customer.email) if customer.email else None,
                        customer.tier, customer.language, True)


def do_reveal_customer(uow: UnitOfWork, customer_id: str, *, actor: str, reason: str, now: datetime
                       ) -> CustomerView:
    with uow:
        customer = uow.session.get(Customer, customer_id)
        if customer is None:
            raise NotFound("customer not found", id=customer_id)
        view = customer_view(customer, reveal=True)
        record_audit(uow.session, actor=actor, action="customer.revealed", object_type="customer",
                     object_id=customer.id, data={"fields": ["name", "phone", "email"], "reason": reason[:500]},
                     now=now)
        uow.commit()
    return view


def do_reveal_message(uow: UnitOfWork, message_id: str, *, actor: str, reason: str, now: datetime) -> str:
    with uow:
        message = uow.session.get(Message, message_id)
        if message is None:
            raise NotFound("message not found", id=message_id)
        text = message.text
        record_audit(uow.session, actor=actor, action="message.revealed", object_type="message",
                     object_id=message.id, data={"reason": reason[:500],
                                                 "pii_kinds": sorted({m.kind for m in mask_text(text)[1]})},
                     now=now)
        uow.commit()
    return text
