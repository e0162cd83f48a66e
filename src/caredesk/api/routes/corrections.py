"""Agents' corrections of a message's triage labels: POST one, GET the list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from caredesk.accounts.access import message_for
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, require
from caredesk.learning.correction_actions import CorrectionOut, do_correct_label, list_corrections
from caredesk.learning.corrections import CORRECTABLE

router = APIRouter(tags=["triage"])


def _heads_and_labels(schema: dict[str, Any]) -> None:
    """Publish what check_correction enforces (400 `invalid_input`): the heads, and each head's labels."""
    schema["anyOf"] = [{"properties": {"head": {"const": head}, "label": {"enum": list(labels)}}}
                       for head, labels in sorted(CORRECTABLE.items())]


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_heads_and_labels)
    head: str = Field(min_length=1, max_length=32,
                      description="content_type, problem_type, urgency or emotion")
    label: str = Field(min_length=1, max_length=64)


class CorrectionOutSchema(BaseModel):
    id: str
    message_id: str
    head: str
    old_label: str
    new_label: str
    staff_id: str | None
    created_at: datetime


def _out(c: CorrectionOut) -> CorrectionOutSchema:
    return CorrectionOutSchema(id=c.id, message_id=c.message_id, head=c.head, old_label=c.old_label,
                               new_label=c.new_label, staff_id=c.staff_id, created_at=c.created_at)


@router.post("/messages/{message_id}/corrections", status_code=201, response_model=CorrectionOutSchema)
async def post_correction(
    message_id: str, body: CorrectionIn, rt: RuntimeDep,
    caller: Annotated[Caller, Depends(require("triage.correct"))], session: SessionDep,
) -> CorrectionOutSchema:
    message_for(session, caller, message_id)
    staff_id = caller.id if caller.kind == "staff" else None
    result = await run_in_threadpool(do_correct_label, rt.uow(), message_id, body.head, body.label,
                                     actor=caller.actor, staff_id=staff_id, now=rt.clock.now())
    return _out(result)


@router.get("/messages/{message_id}/corrections")
def get_corrections(message_id: str, session: SessionDep,
                    caller: Annotated[Caller, Depends(require("conversation.read"))]) -> dict[str, Any]:
    message_for(session, caller, message_id)
    return {"items": [_out(c).model_dump(mode="json") for c in list_corrections(session, message_id)]}
