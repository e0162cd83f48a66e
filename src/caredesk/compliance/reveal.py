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
from caredesk.storage.orm import CUSTOMER_PII_FIELDS, Customer, Message
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
    id_number: str | None
    bank_card: str | None
    address: str | None
    tier: str
    branch_id: str | None
    language: str | None
    masked: bool


# How each personal field is masked in a view (every CUSTOMER_PII_FIELDS entry has one).
_MASKS: dict[str, Callable[[str], str]] = {
    "name": mask_name, "phone": partial(mask_value, "phone"), "email": partial(mask_value, "email"),
    "id_number": partial(mask_value, "id_card"), "bank_card": partial(mask_value, "bank_card"),
    "address": mask_address}


def customer_view(customer: Customer, *, reveal: bool = False) -> CustomerView:
    stored = {f: getattr(customer, f) for f in CUSTOMER_PII_FIELDS}
    shown = stored if reveal else {f: _MASKS[f](v) if v else None for f, v in stored.items()}
    return CustomerView(id=customer.id, ref=customer.ref, tier=customer.tier, branch_id=customer.branch_id,
                        language=customer.language, masked=not reveal, **shown)


def do_reveal_customer(uow: UnitOfWork, customer_id: str, *, actor: str, reason: str, now: datetime
                       ) -> CustomerView:
    with uow:
        customer = uow.session.get(Customer, customer_id)
        if customer is None:
            raise NotFound("customer not found", id=customer_id)
        view = customer_view(customer, reveal=True)
        shown = [f for f in CUSTOMER_PII_FIELDS if getattr(view, f) is not None]  # what was actually disclosed
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
