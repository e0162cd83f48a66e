"""Conversations with their messages, triage and decisions: scoped to the caller, and every read audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select

from caredesk.accounts.access import conversation_for
from caredesk.api.schemas import message_out
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, audit_read, note_record_read, require
from caredesk.storage.orm import Message

router = APIRouter(tags=["conversations"])


@router.get("/conversations/{conversation_id}")
def get_conversation(conversation_id: str, session: SessionDep, rt: RuntimeDep,
                     caller: Annotated[Caller, Depends(require("conversation.read"))]) -> dict[str, Any]:
    note_record_read(rt, caller)
    conversation = conversation_for(session, caller, conversation_id)
    audit_read(rt, caller, "conversation", conversation.id)
    messages = session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                               .order_by(Message.created_at, Message.direction, Message.id))  # "in" first
    return {"id": conversation.id, "channel": conversation.channel, "status": conversation.status,
            "customer_ref": conversation.customer.ref, "created_at": conversation.created_at,
            "counted_complaints": conversation.counted_complaints,
            "messages": [message_out(m) for m in messages]}
