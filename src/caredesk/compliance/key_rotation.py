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

__all__ = ["RotationReport", "rotate_keys"]

# Raw views of the encrypted columns (plain Text: no automatic decryption).
_MESSAGE = sa.table("message", sa.column("id", sa.String), sa.column("text", sa.Text))
_CUSTOMER = sa.table("customer", sa.column("id", sa.String), *(sa.column(c, sa.Text) for c in CUSTOMER_PII_FIELDS),
                     *(sa.column(f"{c}_hash", sa.String) for c in HASHED_FIELDS))


@dataclass(frozen=True)
class RotationReport:
    messages: int
    customers: int
    active_key: str


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
    return RotationReport(messages, customers, keyring.active)
