"""The contact of a phone number (SMS and calls share it: the same number is the same customer), found or
created with its customer in a short transaction of its own before the message's (intake needs the
customer's reference and the conversation the message continues before it starts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from caredesk.channels.contacts import address_hash, contact_for, current_conversation, known_customer
from caredesk.storage.orm import ChannelContact, Customer

__all__ = ["PhoneContact", "phone_contact"]


@dataclass(frozen=True)
class PhoneContact:
    contact_id: str
    customer_ref: str
    conversation_id: str | None  # the open conversation a message now continues (None: a new one)
    opted_out: bool


def phone_contact(session: Session, *, channel: str, phone: str, now: datetime, continues: bool = True
                  ) -> PhoneContact:
    """In the caller's transaction. The customer's reference for a new number is `tel:<keyed hash>`: the
    number itself never becomes an identifier that is shown and logged."""
    forms = {phone, phone.removeprefix("+86")}  # the CRM's numbers come with or without +86
    known = known_customer(session, "phone", forms)
    ref = known.ref if known is not None else f"tel:{address_hash('phone', phone)[:32]}"
    contact: ChannelContact = contact_for(session, channel=channel, account="", address=phone, customer_ref=ref,
                                          now=now)
    customer = session.get(Customer, contact.customer_id)
    assert customer is not None
    if customer.phone is None:
        customer.phone = phone
    conversation = current_conversation(session, contact, now) if continues else None
    return PhoneContact(contact.id, customer.ref, conversation, contact.opted_out_at is not None)
