"""POST /api/v1/calls: a call's transcript in (API key with `message.post`, as /api/v1/messages). The body is
checked here so that a bad one is a 400 with a stable code (`invalid_call`, `transcript_required`), the
first POST of a call answers 201, a repeat 200 with the same body and `Idempotency-Replayed: true`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from caredesk.channels.calls.receive import CallOutcome, InvalidCall, do_receive_call
from caredesk.channels.calls.speech import Segment, SpeechEngine, speech_engine
from caredesk.channels.calls.transcript import CallTranscript
from caredesk.channels.sms.text import normalise_phone
from caredesk.http.deps import Caller, RuntimeDep, require
from caredesk.intake.actions import CUSTOMER_REF_PATTERN

__all__ = ["CallIn", "router"]

router = APIRouter(tags=["calls"])
MAX_BODY = 2 * 1024 * 1024
MAX_SEGMENTS = 5000
DAY_MS = 24 * 3600 * 1000  # no call is longer; bounds the times computed from the offsets
NO_NUL = "^[^\\u0000]*$"  # PostgreSQL cannot store NUL: refused here, before any row is written


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    speaker: Literal["customer", "agent"]
    start_ms: int = Field(ge=0, le=DAY_MS)
    end_ms: int = Field(ge=0, le=DAY_MS)
    text: str = Field(max_length=5000, pattern=NO_NUL)


class CallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    call_id: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$")
    customer_ref: str | None = Field(None, pattern=CUSTOMER_REF_PATTERN)
    caller: str | None = Field(None, max_length=32, pattern=NO_NUL, description="the caller's phone number")
    started_at: datetime
    recording_ref: str | None = Field(None, max_length=500, pattern=NO_NUL)
    segments: list[SegmentIn] = Field(default_factory=list, max_length=MAX_SEGMENTS)
    language: Literal["zh", "en"] | None = None

    @field_validator("started_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("started_at needs a UTC offset")
        if not 2000 <= value.year <= 2999:
            raise ValueError("started_at is not a plausible time")
        return value


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """The body's JSON Schema with its `$defs` written in place (an OpenAPI requestBody cannot point there)."""
    defs = schema.pop("$defs", {})

    def expand(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return expand(defs[ref.removeprefix("#/$defs/")])
            return {k: expand(v) for k, v in node.items()}
        if isinstance(node, list):
            return [expand(v) for v in node]
        return node

    return dict(expand(schema))


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    # never echo the input: it is the customer's speech
    return [{"loc": [str(p) for p in e["loc"]], "type": e["type"], "msg": e["msg"]} for e in exc.errors()]


def _transcript(body: bytes) -> CallTranscript:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting deeper than Python's stack
        raise InvalidCall("the body is not JSON", problem="not_json") from None
    try:
        call = CallIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidCall("the call does not match the schema", errors=_errors(exc)) from None
    if call.customer_ref is None and call.caller is None:
        raise InvalidCall("a call needs customer_ref or caller", field="caller", problem="missing")
    caller = normalise_phone(call.caller) if call.caller is not None else None
    if call.caller is not None and caller is None:
        raise InvalidCall("caller is not a phone number", field="caller", problem="not_a_phone")
    bad = next((i for i, s in enumerate(call.segments) if s.end_ms < s.start_ms), None)
    if bad is not None:
        raise InvalidCall("a segment ends before it starts", field=f"segments[{bad}]", problem="times")
    return CallTranscript(call.call_id, call.customer_ref, caller, call.started_at, call.recording_ref,
                          tuple(Segment(s.speaker, s.start_ms, s.end_ms, s.text) for s in call.segments),
                          call.language)


def _body_json(outcome: CallOutcome) -> dict[str, Any]:
    return {"call_id": outcome.call_id, "conversation_id": outcome.conversation_id,
            "message_ids": list(outcome.message_ids), "customer_message_id": outcome.customer_message_id,
            "agent_message_ids": list(outcome.agent_message_ids), "reply_message_id": outcome.reply_message_id,
            "decision": outcome.decision, "work_order_id": outcome.work_order_id,
            "case_number": outcome.case_number, "meeting_id": outcome.meeting_id,
            "transcript_source": outcome.transcript_source, "truncated": outcome.truncated}


@router.post("/calls", status_code=201, openapi_extra={"requestBody": {
    "required": True, "content": {"application/json": {"schema": _inline(CallIn.model_json_schema())}}}},
             responses={200: {"description": "the call was taken before: its first result, with the header "
                                             "`Idempotency-Replayed: true`"}})
async def post_call(request: Request, rt: RuntimeDep,
                    caller: Annotated[Caller, Depends(require("message.post"))]) -> Any:
    call = _transcript(await request.body())  # its size is limited by the app (MAX_BODY: http/app.py)
    engine: SpeechEngine | None = None if call.segments else speech_engine(rt.settings)
    outcome = await run_in_threadpool(do_receive_call, rt, call, engine)
    response = JSONResponse(_body_json(outcome), status_code=200 if outcome.replayed else 201)
    if outcome.replayed:
        response.headers["Idempotency-Replayed"] = "true"
    return response
