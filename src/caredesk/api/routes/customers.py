"""Customers as staff see them: within the caller's branch scope, masked by default, every read audited;
`reveal` for the roles allowed, audited."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from caredesk.accounts.access import customer_for, message_for
from caredesk.api.deps import Caller, RuntimeDep, SessionDep, audit_read, note_record_read, require
from caredesk.api.schemas import StrictModel
from caredesk.compliance.reveal import customer_view, do_reveal_customer, do_reveal_message

router = APIRouter(tags=["customers"])


class RevealIn(StrictModel):
    reason: str = Field(min_length=3, max_length=500, description="why the unmasked data is needed (audited)")


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
