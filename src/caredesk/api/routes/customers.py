"""Customers as staff see them: within the caller's branch scope, masked by default, every read audited;
`reveal` for the roles allowed, audited; found by phone, ID number or bank card (keyed hashes); their
profile set by integrations (`customer.update`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import ConfigDict, Field

from caredesk.accounts.access import customer_for, message_for
from caredesk.api.schemas import StrictModel
from caredesk.compliance.reveal import customer_view, do_reveal_customer, do_reveal_message
from caredesk.customers.identity import ADDRESS_MAX, NAME_MAX
from caredesk.customers.profile import ProfileUpdate, do_update_customer
from caredesk.customers.search import find_customers, search_field
from caredesk.customers.tiers import CUSTOMER_TIERS
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, audit_read, note_record_read, require

router = APIRouter(tags=["customers"])


class RevealIn(StrictModel):
    reason: str = Field(min_length=3, max_length=500, description="why the unmasked data is needed (audited)")


class CustomerUpdateIn(StrictModel):
    """Only the fields given change; null empties a field (not `tier`). Checked in full before anything is
    written: a bad value is a 400 `invalid_input` naming the field."""

    name: str | None = Field(default=None, max_length=NAME_MAX)
    phone: str | None = Field(default=None, max_length=32, description="digits, optional leading +, spaces/dashes")
    email: str | None = Field(default=None, max_length=254)
    id_number: str | None = Field(default=None, max_length=32,
                                  description="resident ID: 18 characters with a valid check digit, or 15 digits")
    bank_card: str | None = Field(default=None, max_length=32, description="12-19 digits passing the Luhn check")
    address: str | None = Field(default=None, max_length=ADDRESS_MAX)
    tier: str | None = Field(default=None, max_length=32, description=f"one of {', '.join(CUSTOMER_TIERS)}")
    branch: str | None = Field(default=None, min_length=1, max_length=64, description="home branch code")


_SEARCH_SHAPES = {  # as customers.identity checks them (400 `invalid_input`); the checksums are not expressible
    "phone": r"^\s*\+?[0-9](?:[ -]*[0-9]){4,19}[ -]*\s*$",
    "id_number": r"^\s*(?:[0-9]\s*){14}(?:[0-9]|(?:[0-9]\s*){3}[0-9Xx])\s*$",
    "bank_card": r"^\s*[ -]*(?:[0-9][ -]*){12,19}\s*$",
}


def _exactly_one(schema: dict[str, Any]) -> None:
    """Publish what search_field enforces: exactly one of the fields is a string, the others absent or null."""
    schema["anyOf"] = [{"required": [name], "properties": {
        other: {"type": "string", "pattern": _SEARCH_SHAPES[other]} if other == name else {"type": "null"}
        for other in _SEARCH_SHAPES}} for name in _SEARCH_SHAPES]


class CustomerSearchIn(StrictModel):
    """Exactly one field. A POST body, not a query string: URLs end up in proxy and access logs."""

    model_config = ConfigDict(json_schema_extra=_exactly_one)

    phone: str | None = Field(default=None, min_length=1, max_length=64)
    id_number: str | None = Field(default=None, min_length=1, max_length=64,
                                  description="18 characters with a valid check digit, or 15 digits")
    bank_card: str | None = Field(default=None, min_length=1, max_length=64,
                                  description="12-19 digits passing the Luhn check")


@router.post("/customers/search")
def search_customers(body: CustomerSearchIn, session: SessionDep, rt: RuntimeDep,
                     caller: Annotated[Caller, Depends(require("conversation.read"))]) -> dict[str, Any]:
    """Customers whose phone, ID number or bank card equals the value, masked. Each customer found is a
    record read (audited, counted); a search that finds nothing still counts once."""
    field, value = search_field(body.model_dump())
    note_record_read(rt, caller)
    found = find_customers(session, caller, field, value)
    for _ in found[1:]:
        note_record_read(rt, caller)
    audit_read(rt, caller, "customer", *(c.id for c in found))
    return {"items": [asdict(customer_view(c)) for c in found]}


@router.patch("/customers/{customer_id}")
def update_customer(customer_id: str, body: CustomerUpdateIn, session: SessionDep, rt: RuntimeDep,
                    caller: Annotated[Caller, Depends(require("customer.update"))]) -> dict[str, Any]:
    customer_for(session, caller, customer_id)
    given = body.model_dump(exclude_unset=True)
    update = ProfileUpdate(**{k: v for k, v in given.items() if v is not None},
                           clear=frozenset(k for k, v in given.items() if v is None))
    return asdict(do_update_customer(rt.uow(), customer_id, update, actor=caller.actor, now=rt.clock.now()))


@router.get("/customers/{customer_id}")
def get_customer(customer_id: str, session: SessionDep, rt: RuntimeDep,
                 caller: Annotated[Caller, Depends(require("conversation.read"))]) -> dict[str, Any]:
    note_record_read(rt, caller)
    customer = customer_for(session, caller, customer_id)
    audit_read(rt, caller, "customer", customer.id)
    return asdict(customer_view(customer))


@router.post("/customers/{customer_id}/reveal")
def reveal_customer(customer_id: str, body: RevealIn, session: SessionDep, rt: RuntimeDep,
                    caller: Annotated[Caller, Depends(require("pii.reveal"))]) -> dict[str, Any]:
    note_record_read(rt, caller)
    customer_for(session, caller, customer_id)
    return asdict(do_reveal_customer(rt.uow(), customer_id, actor=caller.actor, reason=body.reason,
                                     now=rt.clock.now()))


@router.post("/messages/{message_id}/reveal")
def reveal_message(message_id: str, body: RevealIn, session: SessionDep, rt: RuntimeDep,
                   caller: Annotated[Caller, Depends(require("pii.reveal"))]) -> dict[str, Any]:
    note_record_read(rt, caller)
    message_for(session, caller, message_id)
    return {"message_id": message_id, "text": do_reveal_message(rt.uow(), message_id, actor=caller.actor,
                                                                reason=body.reason, now=rt.clock.now())}
