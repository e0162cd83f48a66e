"""Setting a customer's profile: contact and identity fields, tier and home branch, as a CRM integration
or a complaint manager knows them. Values are checked before the transaction opens, so a bad field
changes nothing; the audit entry names the fields changed, never their values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.compliance.audit import record_audit
from caredesk.compliance.reveal import CustomerView, customer_view
from caredesk.customers.identity import (
    clean_address,
    clean_bank_card,
    clean_email,
    clean_id_number,
    clean_name,
    clean_phone,
)
from caredesk.customers.tiers import CUSTOMER_TIERS
from caredesk.errors import InvalidInput, NotFound
from caredesk.storage.orm import Branch, Customer
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["ProfileUpdate", "branch_id_of", "check_profile_update", "do_update_customer"]

_CLEANERS: dict[str, Callable[[str], str]] = {
    "name": clean_name, "phone": clean_phone, "email": clean_email, "id_number": clean_id_number,
    "bank_card": clean_bank_card, "address": clean_address}
_CLEARABLE = frozenset(_CLEANERS) | {"branch"}


@dataclass(frozen=True)
class ProfileUpdate:
    """What to change. A field left None stays as it is; a field named in `clear` is emptied (the tier
    cannot be: every customer has one). `branch` is a branch code."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    id_number: str | None = None
    bank_card: str | None = None
    address: str | None = None
    tier: str | None = None
    branch: str | None = None
    clear: frozenset[str] = frozenset()


def check_profile_update(update: ProfileUpdate) -> dict[str, str | None]:
    """The new value of each field to change, in its stored form (field -> value, None to clear)."""
    given = {f.name: getattr(update, f.name) for f in fields(update) if f.name != "clear"}
    for name in sorted(update.clear):
        if name not in _CLEARABLE:
            raise InvalidInput(f"{name} cannot be cleared", field=name)
        if given.get(name) is not None:
            raise InvalidInput(f"{name} is both set and cleared", field=name)
    out: dict[str, str | None] = dict.fromkeys(update.clear)
    for name, value in given.items():
        if value is None:
            continue
        if name == "tier":
            if value not in CUSTOMER_TIERS:
                raise InvalidInput(f"tier must be one of {list(CUSTOMER_TIERS)}", field="tier")
            out[name] = value
        elif name == "branch":
            out[name] = value
        else:
            out[name] = _CLEANERS[name](value)
    return out


def branch_id_of(session: Session, code: str | None, *, field: str = "branch") -> str | None:
    """The id of the branch with this code (None for None); an unknown code is the caller's `field` at fault."""
    if code is None:
        return None
    branch_id = session.scalar(select(Branch.id).where(Branch.code == code))
    if branch_id is None:
        raise InvalidInput("no branch with this code", field=field)
    return branch_id


def do_update_customer(uow: UnitOfWork, customer_id: str, update: ProfileUpdate, *, actor: str, now: datetime
                       ) -> CustomerView:
    """Apply the update in one transaction; returns the customer's masked view. Setting a field to the
    value it already has is not a change (no audit entry when nothing changed)."""
    values = check_profile_update(update)
    with uow:
        s = uow.session
        customer = s.scalar(select(Customer).where(Customer.id == customer_id).with_for_update())
        if customer is None:
            raise NotFound("customer not found", id=customer_id)
        targets = {("branch_id" if k == "branch" else k): (branch_id_of(s, v) if k == "branch" else v)
                   for k, v in values.items()}
        changed = sorted(k for k, v in targets.items() if getattr(customer, k) != v)
        for attr in changed:
            setattr(customer, attr, targets[attr])
        if changed:
            record_audit(s, actor=actor, action="customer.updated", object_type="customer", object_id=customer.id,
                         data={"fields": sorted("branch" if k == "branch_id" else k for k in changed)}, now=now)
        view = customer_view(customer)
        uow.commit()
    return view
