"""Conversations with their messages, triage and decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select

from caredesk.api.deps import Caller, RuntimeDep, SessionDep, note_record_read, require
from caredesk.api.schemas import message_out
from caredesk.errors import NotFound
from caredesk.storage.orm import Conversation, Message

router = APIRouter(tags=["conversations"])


@router.get("/conversations/{conversation_id}")
def get_conversation(conversation_id: str, session: SessionDep, rt: RuntimeDep,
                     caller: Annotated[Caller, Depends(require("conversation.read"))]) -> dict[str, Any]:
    note_record_read(rt, caller)
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("conversation not found", id=conversation_id)
    messages = session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                               .order_by(Message.created_at, Message.id))
    return {"id": conversation.id, "channel": conversation.channel, "status": conversation.status,
            "customer_ref": conversation.customer.ref, "created_at": conversation.created_at,
            "counted_complaints": conversation.counted_complaints,
            "messages": [message_out(m) for m in messages]}
