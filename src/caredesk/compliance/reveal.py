"""Showing customer data masked by default, and unmasked only to roles allowed to reveal it: each reveal
is a read of sensitive data and goes into the audit log in the same transaction as the read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from caredesk.compliance.audit import record_audit
from caredesk.compliance.masking import mask_address, mask_text, mask_value
from caredesk.errors import NotFound
from caredesk.storage.orm import Customer, Message
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["REVEALED_FIELDS", "CustomerView", "customer_view", "do_reveal_customer", "do_reveal_message",
           "mask_name"]

# The customer fields that are masked in a view and shown as stored on a reveal.
REVEALED_FIELDS = ("name", "phone", "email", "id_number", "bank_card", "address")


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
    id_number: str | None
    bank_card: str | None
    address: str | None
    tier: str
    branch_id: str | None
    language: str | None
    masked: bool


def _masked(mask: Callable[[str], str], value: str | None) -> str | None:
    return mask(value) if value else None


def customer_view(customer: Customer, *, reveal: bool = False) -> CustomerView:
    c = customer
    if reveal:
        return CustomerView(c.id, c.ref, c.name, c.phone, c.email, c.id_number, c.bank_card, c.address, c.tier,
                            c.branch_id, c.language, False)
    return CustomerView(c.id, c.ref, _masked(mask_name, c.name), _masked(partial(mask_value, "phone"), c.phone),
                        _masked(partial(mask_value, "email"), c.email),
                        _masked(partial(mask_value, "id_card"), c.id_number),
                        _masked(partial(mask_value, "bank_card"), c.bank_card),
                        _masked(mask_address, c.address), c.tier, c.branch_id, c.language, True)


def do_reveal_customer(uow: UnitOfWork, customer_id: str, *, actor: str, reason: str, now: datetime
                       ) -> CustomerView:
    with uow:
        customer = uow.session.get(Customer, customer_id)
        if customer is None:
            raise NotFound("customer not found", id=customer_id)
        view = customer_view(customer, reveal=True)
        shown = [f for f in REVEALED_FIELDS if getattr(view, f) is not None]  # what was actually disclosed
        record_audit(uow.session, actor=actor, action="customer.revealed", object_type="customer",
                     object_id=customer.id, data={"fields": shown, "reason": reason[:500]}, now=now)
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
