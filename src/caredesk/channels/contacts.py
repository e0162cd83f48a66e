"""A customer's address on a channel, and the conversation a new message there continues."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caredesk.compliance.crypto import current_keyring
from caredesk.compliance.lookup import lookup_hash
from caredesk.storage.orm import ChannelContact, Conversation, Customer

__all__ = ["CONTINUE_WITHIN", "address_hash", "contact_for", "contact_of", "current_conversation", "known_customer"]

# A message within this time of the conversation's last one continues it; later, a new conversation starts
# (a customer who writes again tomorrow starts a new session, as in the web chat).
CONTINUE_WITHIN = timedelta(hours=24)
_CUSTOMER_FIELD = {"email": "email", "sms": "phone", "phone": "phone"}  # channels whose address a customer has


def address_hash(channel: str, address: str) -> str:
    """The keyed hash an address is found by (the e-mail and phone forms normalise as the customer's do)."""
    field = _CUSTOMER_FIELD.get(channel, "channel_address")
    digest = lookup_hash(current_keyring(), field, address)
    assert digest is not None
    return digest


def known_customer(session: Session, channel: str, forms: Iterable[str]) -> Customer | None:
    """The one customer the bank already has with this phone number or e-mail address (any of its `forms`, e.g.
    with and without +86), imported from the CRM or met on another channel. None when there is none, or more
    than one (a family's shared number or mailbox): a guess would show one customer's history to another."""
    column = Customer.email_hash if _CUSTOMER_FIELD[channel] == "email" else Customer.phone_hash
    hashes = sorted({address_hash(channel, form) for form in forms})
    found = list(session.scalars(select(Customer).where(column.in_(hashes)).limit(2)))
    return found[0] if len(found) == 1 else None


def contact_of(session: Session, channel: str, account: str, address: str) -> ChannelContact | None:
    return session.scalar(select(ChannelContact).where(ChannelContact.channel == channel,
                                                       ChannelContact.account == account,
                                                       ChannelContact.address_hash == address_hash(channel, address)))


def contact_for(session: Session, *, channel: str, account: str, address: str, customer_ref: str, now: datetime
                ) -> ChannelContact:
    """The contact, created with its customer on first contact (the customer by `customer_ref`, e.g.
    `wechat:<account>:<openid>`, unless the channel already knows them). In the caller's transaction."""
    found = contact_of(session, channel, account, address)
    if found is not None:
        return found
    try:
        with session.begin_nested():
            customer = session.scalar(select(Customer).where(Customer.ref == customer_ref))
            if customer is None:
                customer = Customer(ref=customer_ref, created_at=now)
                session.add(customer)
                session.flush()
            contact = ChannelContact(channel=channel, account=account, address=address,
                                     address_hash=address_hash(channel, address), customer_id=customer.id,
                                     created_at=now)
            session.add(contact)
    except IntegrityError:  # a concurrent first message from the same address
        found = contact_of(session, channel, account, address)
        assert found is not None
        return found
    return contact


def current_conversation(session: Session, contact: ChannelContact, now: datetime,
                         within: timedelta = CONTINUE_WITHIN) -> str | None:
    """The contact's open conversation on this channel that a message now continues, or None (a new one)."""
    return session.scalar(select(Conversation.id).where(
        Conversation.contact_id == contact.id, Conversation.status == "open",
        Conversation.last_message_at >= now - within).order_by(Conversation.last_message_at.desc()).limit(1))
