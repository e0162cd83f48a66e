"""A customer's data rights (PIPL) through the API: the export of everything held about them (unmasked: it is
for the customer; only roles that may reveal), and erasure (roles that may change customer records); both
take the reason, which the audit entry keeps. Scoped like every customer route (404 outside the scope)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from caredesk.accounts.access import customer_for
from caredesk.api.schemas import StrictModel
from caredesk.compliance.customer_data import do_erase_customer, do_export_customer
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, note_record_read, require

__all__ = ["router"]

router = APIRouter(tags=["customers"])


class DataRequestIn(StrictModel):
    reason: str = Field(min_length=3, max_length=500,
                        description="the customer's request this fulfils (a ticket or letter reference; audited)")


@router.post("/customers/{customer_id}/export")
def export_customer_data(customer_id: str, body: DataRequestIn, session: SessionDep, rt: RuntimeDep,
                         caller: Annotated[Caller, Depends(require("pii.reveal"))]) -> dict[str, Any]:
    """Contact and identity data, conversations, work orders, the learned profile and the outside sources'
    records of the customer, as JSON."""
    note_record_read(rt, caller)
    customer_for(session, caller, customer_id)
    return do_export_customer(rt.uow(), customer_id, actor=caller.actor, reason=body.reason, now=rt.clock.now())


@router.post("/customers/{customer_id}/erase")
def erase_customer_data(customer_id: str, body: DataRequestIn, session: SessionDep, rt: RuntimeDep,
                        caller: Annotated[Caller, Depends(require("customer.update"))]) -> dict[str, Any]:
    """Personal fields cleared, message texts removed, the profile and source records deleted; the counts."""
    customer_for(session, caller, customer_id)
    report = do_erase_customer(rt.uow(), customer_id, actor=caller.actor, reason=body.reason, now=rt.clock.now())
    return asdict(report)
