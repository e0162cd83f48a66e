"""Escalation alarms, filtered by conversation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from caredesk.api.deps import Caller, SessionDep, require
from caredesk.api.schemas import alarm_out
from caredesk.escalation.actions import list_alarms

router = APIRouter(tags=["alarms"])


@router.get("/alarms")
def get_alarms(session: SessionDep, _: Annotated[Caller, Depends(require("alarm.read"))],
               conversation_id: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    return {"items": [alarm_out(a) for a in list_alarms(session, conversation_id)]}
