"""Around work orders: the SLA board for supervisors, callbacks, macros, agent presence, and the
customer's satisfaction survey (public: the token in the link is the credential)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from caredesk.api.schemas import work_order_out
from caredesk.api.workorder_schemas import (
    AwayIn,
    MacroIn,
    NoteIn,
    SurveyIn,
    callback_out,
    macro_out,
    survey_out,
)
from caredesk.errors import NotFound
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, require
from caredesk.storage.orm import SatisfactionSurvey
from caredesk.workorders.availability import do_set_away
from caredesk.workorders.closure import do_answer_survey, do_complete_callback
from caredesk.workorders.queries import callbacks, macros, sla_board
from caredesk.workorders.replies import do_create_macro

router = APIRouter(tags=["work-orders"])

Reader = Annotated[Caller, Depends(require("workorder.read"))]
Changer = Annotated[Caller, Depends(require("workorder.change"))]
Supervisor = Annotated[Caller, Depends(require("workorder.supervise"))]


@router.get("/sla/board")
def get_sla_board(session: SessionDep, _: Supervisor) -> dict[str, Any]:
    return {"items": [work_order_out(r.order) | {"worst": r.worst, "marks": list(r.kinds), "last_at": r.last_at,
                                                 "escalation_level": r.order.escalation_level}
                      for r in sla_board(session)]}


@router.get("/callbacks")
def list_callbacks(session: SessionDep, _: Reader,
                   status: Literal["open", "done"] | None = Query(default="open")) -> dict[str, Any]:
    return {"items": [callback_out(c) for c in callbacks(session, status=status)]}


@router.post("/callbacks/{callback_id}/done")
def complete_callback(callback_id: str, body: NoteIn, rt: RuntimeDep, caller: Changer) -> dict[str, Any]:
    return callback_out(do_complete_callback(rt, callback_id, note=body.text, actor=caller.actor,
                                             now=rt.clock.now()))


@router.get("/macros")
def list_macros(session: SessionDep, _: Reader) -> dict[str, Any]:
    return {"items": [macro_out(m) for m in macros(session)]}


@router.post("/macros", status_code=201)
def create_macro(body: MacroIn, rt: RuntimeDep, caller: Supervisor) -> dict[str, Any]:
    return macro_out(do_create_macro(rt, **body.model_dump(), actor=caller.actor, now=rt.clock.now()))


@router.post("/staff/{staff_id}/away")
def set_away(staff_id: str, body: AwayIn, rt: RuntimeDep, caller: Supervisor) -> dict[str, Any]:
    assigned = do_set_away(rt, staff_id, away=body.away, actor=caller.actor, now=rt.clock.now())
    return {"staff_id": staff_id, "away": body.away, "assigned": assigned}


@router.get("/surveys/{token}")
def get_survey(token: str, session: SessionDep) -> dict[str, Any]:
    survey = session.scalar(select(SatisfactionSurvey).where(SatisfactionSurvey.token == token[:64]))
    if survey is None:
        raise NotFound("survey not found")
    return survey_out(survey)


@router.post("/surveys/{token}")
def answer_survey(token: str, body: SurveyIn, rt: RuntimeDep) -> dict[str, Any]:
    return survey_out(do_answer_survey(rt, token[:64], rating=body.rating, comment=body.comment,
                                       now=rt.clock.now()))
