"""POST /api/v1/messages: the intake of every channel that speaks HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from caredesk.api.schemas import MessageCreated, MessageIn, message_created
from caredesk.http.deps import Caller, RuntimeDep, require
from caredesk.intake.actions import IncomingMessage, do_receive_message

router = APIRouter(tags=["messages"])


@router.post("/messages", status_code=201, response_model=MessageCreated)
async def post_message(body: MessageIn, rt: RuntimeDep,
                       _: Annotated[Caller, Depends(require("message.post"))]) -> MessageCreated:
    cmd = IncomingMessage(body.text, body.channel, body.customer_ref, body.conversation_id, body.customer_branch)
    return message_created(await run_in_threadpool(do_receive_message, rt, cmd))
