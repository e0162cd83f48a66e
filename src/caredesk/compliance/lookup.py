"""Which encrypted customer fields can be found by equality, and the form each is hashed in: the same
number typed with or without spaces (or a card with dashes) must give the same keyed hash.

One place for the ORM (hashes on write), key rotation (hashes recomputed) and search (hash of the query)."""

from __future__ import annotations

import re

from caredesk.compliance.crypto import Keyring

__all__ = ["HASHED_FIELDS", "lookup_form", "lookup_hash"]

# Encrypted field -> its hash column is f"{field}_hash".
HASHED_FIELDS = ("phone", "email", "id_number", "bank_card")


def lookup_form(field: str, value: str) -> str:
    """The normalised value that is hashed. Phone and e-mail keep the form they have had since hashing
    began (the keyed hash itself drops whitespace and ignores case), so that stored hashes stay valid."""
    if field == "id_number":
        return "".join(value.split()).upper()
    if field == "bank_card":
        return re.sub(r"\D", "", value)
    return value


def lookup_hash(keyring: Keyring, field: str, value: str | None) -> str | None:
    if not value:
        return None
    return keyring.keyed_hash(lookup_form(field, value))
