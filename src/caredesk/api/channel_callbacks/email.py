"""POST /channels/email/inbound: a mail gateway (or a forwarding rule of the mail server) hands over one raw
message (`message/rfc822`), authenticated by an API key that may post messages. 202: taken in, or
acknowledged and ignored (an auto-reply or bounce; our own mail come back); 400 `invalid_email` when the mail
cannot be read; 413 over CAREDESK_MAIL_MAX_MESSAGE_BYTES (the app's body limit for this path)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from caredesk.channels.mail.take_in import MailOutcome, do_take_in_mail
from caredesk.errors import InvalidEmail
from caredesk.http.deps import Caller, RuntimeDep, require

__all__ = ["INBOUND_PATH", "outcome_json", "router"]

INBOUND_PATH = "/channels/email/inbound"
router = APIRouter(tags=["channels"])


def outcome_json(outcome: MailOutcome) -> dict[str, Any]:
    body: dict[str, Any] = {"conversation_id": outcome.conversation_id, "message_id": outcome.message_id}
    if outcome.ignored:
        body["ignored"] = outcome.ignored
    if outcome.duplicate:
        body["duplicate"] = True
    return body


# Not in /openapi.json: a mail gateway's callback with a raw MIME body, documented in docs/channels-email.md
# (the schema could not tell a readable mail from any bytes).
@router.post(INBOUND_PATH, status_code=202, include_in_schema=False)
async def inbound_mail(request: Request, rt: RuntimeDep,
                       caller: Annotated[Caller, Depends(require("message.post"))]) -> JSONResponse:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "message/rfc822":
        raise InvalidEmail("send the raw mail as Content-Type: message/rfc822", problem="content_type")
    raw = await request.body()
    outcome = await run_in_threadpool(do_take_in_mail, rt, raw)
    return JSONResponse(outcome_json(outcome), status_code=202)
