"""Customers as staff see them: masked by default; `reveal` for the roles allowed, audited."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from caredesk.api.deps import Caller, RuntimeDep, SessionDep, note_record_read, require
from caredesk.api.schemas import StrictModel
from caredesk.compliance.reveal import customer_view, do_reveal_customer, do_reveal_message
from caredesk.errors import NotFound
from caredesk.storage.orm import Customer

router = APIRouter(tags=["customers"])


class RevealIn(StrictModel):
    reason: str = Field(min_length=3, max_length=500, description="why the unmasked data is needed (audited)")


@router.get("/customers/{customer_id}")
def get_customer(customer_id: str, session: SessionDep, rt: RuntimeDep,
                 caller: Annotated[Caller, Depends(require("conversation.read"))]) -> dict[str, Any]:
    note_record_read(rt, caller)
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer not found", id=customer_id)
    return asdict(customer_view(customer))


@router.post("/customers/{customer_id}/reveal")
def reveal_customer(customer_id: str, body: RevealIn, rt: RuntimeDep,
                    caller: Annotated[Caller, Depends(require("pii.reveal"))]) -> dict[str, Any]:
    note_record_read(rt, caller)
    return asdict(do_reveal_customer(rt.uow(), customer_id, actor=caller.actor, reason=body.reason,
                                     now=rt.clock.now()))


@router.post("/messages/{message_id}/reveal")
def reveal_message(message_id: str, body: RevealIn, rt: RuntimeDep,
                   caller: Annotated[Caller, Depends(require("pii.reveal"))]) -> dict[str, Any]:
    note_record_read(rt, caller)
    return {"message_id": message_id, "text": do_reveal_message(rt.uow(), message_id, actor=caller.actor,
                                                                reason=body.reason, now=rt.clock.now())}
