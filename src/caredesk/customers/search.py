"""Finding customers by phone, ID number or bank card: the query value is put in its stored form and
matched on the keyed hash, so no row is decrypted to search and the index does the work."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.accounts.access import Viewer, customer_filter
from caredesk.compliance.crypto import current_keyring
from caredesk.compliance.lookup import lookup_hash
from caredesk.customers.identity import clean_bank_card, clean_id_number, clean_phone
from caredesk.errors import InvalidInput
from caredesk.storage.orm import Customer

__all__ = ["MAX_MATCHES", "SEARCHABLE", "find_customers", "search_field"]

SEARCHABLE: dict[str, Callable[[str], str]] = {"phone": clean_phone, "id_number": clean_id_number,
                                               "bank_card": clean_bank_card}
MAX_MATCHES = 50  # one number belongs to a handful of customers at most (shared phones, duplicates)


def search_field(given: dict[str, str | None]) -> tuple[str, str]:
    """The one (field, value) to search by; exactly one of the searchable fields must be given."""
    chosen = [(k, v) for k, v in given.items() if v is not None]
    if len(chosen) != 1 or chosen[0][0] not in SEARCHABLE:
        raise InvalidInput(f"give exactly one of {sorted(SEARCHABLE)}", fields=sorted(k for k, _ in chosen))
    return chosen[0]


def find_customers(session: Session, viewer: Viewer, field: str, value: str) -> list[Customer]:
    """The customers within the viewer's scope whose `field` equals `value` (InvalidInput when the value
    cannot be one: a bad ID checksum or card number is refused rather than answered with nothing)."""
    if field not in SEARCHABLE:
        raise InvalidInput(f"cannot search by {field}", field=field)
    digest = lookup_hash(current_keyring(), field, SEARCHABLE[field](value))
    column = getattr(Customer, f"{field}_hash")
    return list(session.scalars(select(Customer).where(column == digest, customer_filter(session, viewer))
                                .order_by(Customer.created_at, Customer.id).limit(MAX_MATCHES)))
