"""Emergency meetings with their participants, notice status and joins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select

from caredesk.accounts.access import meeting_for
from caredesk.api.schemas import meeting_out
from caredesk.http.deps import Caller, SessionDep, require
from caredesk.storage.orm import Staff, WorkOrder

router = APIRouter(tags=["meetings"])


@router.get("/meetings/{meeting_id}")
def read_meeting(meeting_id: str, session: SessionDep,
                 caller: Annotated[Caller, Depends(require("meeting.read"))]) -> dict[str, Any]:
    meeting = meeting_for(session, caller, meeting_id)
    ids = [p.staff_id for p in meeting.participants]
    names = {s.id: (s.display_name, s.role) for s in session.scalars(select(Staff).where(Staff.id.in_(ids)))}
    number = session.scalar(select(WorkOrder.case_number).where(WorkOrder.id == meeting.work_order_id)) \
        if meeting.work_order_id else None
    return meeting_out(meeting, names, number)
