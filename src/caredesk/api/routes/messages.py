"""POST /api/v1/messages: the intake of every channel that speaks HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from caredesk.api.schemas import MessageCreated, MessageIn, message_created
from caredesk.http.deps import Caller, RuntimeDep, require
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.intake.idempotency import KEY_MAX_CHARS, KEY_PATTERN, IdempotentRequest, StoredResponse
from caredesk.intake.idempotent import do_receive_message_once

router = APIRouter(tags=["messages"])

REPLAYED = "Idempotency-Replayed"
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Makes a retry safe: a repeat of this request with the same key (per API key or user, within "
                "24 hours) returns the first successful answer, with the same status and body and the header "
                f"`{REPLAYED}: true`, and creates nothing. The same key with a different body is refused "
                "(409 `idempotency_key_reused`); an invalid key is 400 `invalid_idempotency_key`. Errors are "
                "not kept: a retry after one is processed afresh. A concurrent request with the same key waits "
                "for the first and replays its answer.",
    # Published here and enforced by check_idempotency_key, which answers 400 with a stable code (a constraint
    # given to Header() itself would be checked by FastAPI first, as a 422).
    json_schema_extra={"minLength": 1, "maxLength": KEY_MAX_CHARS, "pattern": KEY_PATTERN},
)]
_REPLAY_HEADER = {REPLAYED: {"description": "`true` when this is the answer kept for the Idempotency-Key",
                             "schema": {"type": "string", "enum": ["true"]}}}


def _render(outcome: IntakeOutcome) -> StoredResponse:
    return StoredResponse(201, message_created(outcome).model_dump(mode="json"))


@router.post("/messages", status_code=201, response_model=MessageCreated,
             responses={201: {"headers": _REPLAY_HEADER}})
async def post_message(body: MessageIn, rt: RuntimeDep, caller: Annotated[Caller, Depends(require("message.post"))],
                       idempotency_key: IdempotencyKey = None) -> Any:
    # the API client is authenticated and vouches for customer_ref: the customer is identified (the bot may use
    # their profile: intake/profile_use.py); the public web chat is not
    cmd = IncomingMessage(body.text, body.channel, body.customer_ref, body.conversation_id, body.customer_branch,
                          identified=True)
    if idempotency_key is None:
        return message_created(await run_in_threadpool(do_receive_message, rt, cmd))
    request = IdempotentRequest.of(caller.actor, idempotency_key, body.model_dump(mode="json"))
    answer = await run_in_threadpool(do_receive_message_once, rt, cmd, request, _render)
    response: Response = JSONResponse(answer.response.body, status_code=answer.response.status)
    if answer.replayed:
        response.headers[REPLAYED] = "true"
    return response
