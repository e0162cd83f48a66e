"""Re-encrypting stored values with the active key (after a new key is added, or when encryption is
switched on over plaintext rows), batch by batch, each batch its own transaction: an interrupted run is
resumed by running it again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Engine

from caredesk.compliance.crypto import Keyring
from caredesk.compliance.lookup import HASHED_FIELDS, lookup_hash
from caredesk.storage.orm import CUSTOMER_PII_FIELDS

# channels/contacts.py hashes a channel address in this form (e-mail and phone as the customer's own fields)
_CONTACT_HASH_FIELD = {"email": "email", "sms": "phone", "phone": "phone"}

__all__ = ["RotationReport", "rotate_keys"]

# Raw views of the encrypted columns (plain Text: no automatic decryption).
_MESSAGE = sa.table("message", sa.column("id", sa.String), sa.column("text", sa.Text))
_CUSTOMER = sa.table("customer", sa.column("id", sa.String), *(sa.column(c, sa.Text) for c in CUSTOMER_PII_FIELDS),
                     *(sa.column(f"{c}_hash", sa.String) for c in HASHED_FIELDS))
_CONTACT = sa.table("channel_contact", sa.column("id", sa.String), sa.column("channel", sa.String),
                    sa.column("address", sa.Text), sa.column("address_hash", sa.String))


@dataclass(frozen=True)
class RotationReport:
    messages: int
    customers: int
    active_key: str
    contacts: int = 0  # channel contacts (their encrypted address and its keyed hash)


def _stale(keyring: Keyring, value: str | None) -> bool:
    return value is not None and keyring.key_id_of(value) != keyring.active


def rotate_keys(engine: Engine, keyring: Keyring, *, batch: int = 500,
                progress: Callable[[int], None] | None = None) -> RotationReport:
    messages = customers = 0
    last = ""
    while True:
        with engine.begin() as conn:
            rows = conn.execute(sa.select(_MESSAGE.c.id, _MESSAGE.c.text).where(_MESSAGE.c.id > last)
                                .order_by(_MESSAGE.c.id).limit(batch)).all()
            for row in rows:
                if _stale(keyring, row.text):
                    conn.execute(sa.update(_MESSAGE).where(_MESSAGE.c.id == row.id)
                                 .values(text=keyring.encrypt(keyring.decrypt(row.text))))
                    messages += 1
        if not rows:
            break
        last = rows[-1].id
        if progress:
            progress(len(rows))
    last = ""
    while True:
        with engine.begin() as conn:
            rows = conn.execute(sa.select(_CUSTOMER).where(_CUSTOMER.c.id > last).order_by(_CUSTOMER.c.id)
                                .limit(batch)).all()
            for row in rows:
                plain = {k: keyring.decrypt(getattr(row, k)) if getattr(row, k) is not None else None
                         for k in CUSTOMER_PII_FIELDS}
                hashes = {f"{k}_hash": lookup_hash(keyring, k, plain[k]) for k in HASHED_FIELDS}
                if any(_stale(keyring, getattr(row, k)) for k in plain) or \
                        any(getattr(row, k) != v for k, v in hashes.items()):
                    conn.execute(sa.update(_CUSTOMER).where(_CUSTOMER.c.id == row.id).values(
                        **{k: keyring.encrypt(v) if v is not None else None for k, v in plain.items()}, **hashes))
                    customers += 1
        if not rows:
            break
        last = rows[-1].id
        if progress:
            progress(len(rows))
    contacts = _rotate_contacts(engine, keyring, batch=batch, progress=progress)
    return RotationReport(messages, customers, keyring.active, contacts)


def _rotate_contacts(engine: Engine, keyring: Keyring, *, batch: int,
                     progress: Callable[[int], None] | None) -> int:
    """Each contact's address under the active key, and its keyed hash under the active hash key (contacts
    are found by that hash when the customer writes again)."""
    done, last = 0, ""
    while True:
        with engine.begin() as conn:
            rows = conn.execute(sa.select(_CONTACT).where(_CONTACT.c.id > last).order_by(_CONTACT.c.id)
                                .limit(batch)).all()
            for row in rows:
                plain = keyring.decrypt(row.address)
                digest = lookup_hash(keyring, _CONTACT_HASH_FIELD.get(row.channel, "channel_address"), plain)
                if _stale(keyring, row.address) or digest != row.address_hash:
                    conn.execute(sa.update(_CONTACT).where(_CONTACT.c.id == row.id)
                                 .values(address=keyring.encrypt(plain), address_hash=digest))
                    done += 1
        if not rows:
            return done
        last = rows[-1].id
        if progress:
            progress(len(rows))
