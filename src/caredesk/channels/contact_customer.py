"""The contact of a phone number (SMS and calls share it: the same number is the same customer), found or
created with its customer in a short transaction of its own before the message's (intake needs the
customer's reference and the conversation the message continues before it starts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.channels.contacts import address_hash, contact_for, current_conversation
from caredesk.storage.orm import ChannelContact, Customer

__all__ = ["PhoneContact", "phone_contact"]


@dataclass(frozen=True)
class PhoneContact:
    contact_id: str
    customer_ref: str
    conversation_id: str | None  # the open conversation a message now continues (None: a new one)
    opted_out: bool


def _known_customer(session: Session, phone: str) -> Customer | None:
    """A customer the bank already has with this number (imported from the CRM: with or without +86)."""
    forms = {phone, phone.removeprefix("+86")} if phone.startswith("+86") else {phone}
    hashes = [address_hash("phone", form) for form in forms]
    found = list(session.scalars(select(Customer).where(Customer.phone_hash.in_(hashes)).limit(2)))
    return found[0] if len(found) == 1 else None


def phone_contact(session: Session, *, channel: str, phone: str, now: datetime, continues: bool = True
                  ) -> PhoneContact:
    """In the caller's transaction. The customer's reference for a new number is `tel:<keyed hash>`: the
    number itself never becomes an identifier that is shown and logged."""
    known = _known_customer(session, phone)
    ref = known.ref if known is not None else f"tel:{address_hash('phone', phone)[:32]}"
    contact: ChannelContact = contact_for(session, channel=channel, account="", address=phone, customer_ref=ref,
                                          now=now)
    customer = session.get(Customer, contact.customer_id)
    assert customer is not None
    if customer.phone is None:
        customer.phone = phone
    conversation = current_conversation(session, contact, now) if continues else None
    return PhoneContact(contact.id, customer.ref, conversation, contact.opted_out_at is not None)
