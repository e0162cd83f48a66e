"""Alarms on the workbench: the live panel of open alarms (full page or htmx fragment), a conversation's
alarm cards, and the htmx buttons that acknowledge, assign and resolve (each calls one lifecycle action
and answers with the updated card)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.accounts.access import alarm_filter, alarm_for
from caredesk.accounts.roles import can
from caredesk.alarms.alarm_status import AlarmStatus
from caredesk.alarms.lifecycle import (
    HANDLER_ROLES,
    AlarmActor,
    do_acknowledge_alarm,
    do_assign_alarm,
    do_resolve_alarm,
    get_alarm,
    run_alarm_action,
)
from caredesk.errors import Conflict, InvalidInput
from caredesk.http.deps import Caller, RuntimeDep, SessionDep
from caredesk.storage.orm import Alarm, Staff
from caredesk.web.rendering import WebRoute, is_htmx, refusal, render, staff_who_may, staff_who_may_see

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)
AlarmReader = Annotated[Staff, staff_who_may("alarm.read")]
AlarmHandler = Annotated[Staff, staff_who_may_see("alarm.handle", alarm_for, "alarm_id")]
PANEL_LENGTH = 50


def _card_context(session: Session, staff: Staff, alarms: list[Alarm]) -> dict[str, Any]:
    may_assign = can(staff.role, "alarm.assign")
    assignees = list(session.scalars(select(Staff).where(Staff.active, Staff.role.in_(HANDLER_ROLES))
                                     .order_by(Staff.display_name))) if may_assign else []
    wanted = {a.assigned_to for a in alarms if a.assigned_to} | {a.acknowledged_by for a in alarms if a.acknowledged_by}
    people = {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_(wanted)))} if wanted else {}
    return {"alarms": alarms, "people": people, "assignees": assignees, "may_assign": may_assign,
            "may_handle": can(staff.role, "alarm.handle")}


@router.get("/workbench/alarms", response_class=HTMLResponse)
def alarm_panel(request: Request, session: SessionDep, staff: AlarmReader) -> HTMLResponse:
    alarms = list(session.scalars(select(Alarm).where(Alarm.status != AlarmStatus.RESOLVED,
                                                      alarm_filter(session, Caller.of_staff(staff)))
                                  .order_by(Alarm.created_at.desc(), Alarm.id.desc()).limit(PANEL_LENGTH)))
    template = "_alarms.html" if is_htmx(request) else "alarms.html"
    return render(request, template, _card_context(session, staff, alarms), staff=staff,
                  headers={"Vary": "HX-Request"})


@router.get("/workbench/conversations/{conversation_id}/alarms", response_class=HTMLResponse)
def conversation_alarms(conversation_id: str, request: Request, session: SessionDep, staff: AlarmReader
                        ) -> HTMLResponse:
    alarms = list(session.scalars(select(Alarm).where(Alarm.conversation_id == conversation_id,
                                                      alarm_filter(session, Caller.of_staff(staff)))
                                  .order_by(Alarm.created_at.desc())))
    return render(request, "_alarms.html", _card_context(session, staff, alarms) | {"show_all": True},
                  staff=staff)


def _answer(request: Request, rt: Any, staff: Staff, alarm_id: str, action: Any, *args: Any, note: str
            ) -> HTMLResponse:
    error = None
    try:
        run_alarm_action(rt.uow, action, alarm_id, *args, AlarmActor(f"staff:{staff.id}", staff.id), note=note,
                         clock=rt.clock)
    except (Conflict, InvalidInput) as exc:  # shown on the card; the API answers these with 409 / 400
        error = refusal(request, exc)
    with rt.session_factory() as session:
        alarm = get_alarm(session, alarm_id)
        context = _card_context(session, staff, [alarm]) | {"alarm": alarm, "error": error}
        return render(request, "_alarm_card.html", context, staff=staff)


@router.post("/workbench/alarms/{alarm_id}/acknowledge", response_class=HTMLResponse)
def acknowledge(alarm_id: str, request: Request, rt: RuntimeDep, staff: AlarmHandler,
                note: Annotated[str, Form(max_length=2000)] = "") -> HTMLResponse:
    return _answer(request, rt, staff, alarm_id, do_acknowledge_alarm, note=note)


@router.post("/workbench/alarms/{alarm_id}/resolve", response_class=HTMLResponse)
def resolve(alarm_id: str, request: Request, rt: RuntimeDep, staff: AlarmHandler,
            note: Annotated[str, Form(max_length=2000)] = "") -> HTMLResponse:
    return _answer(request, rt, staff, alarm_id, do_resolve_alarm, note=note)


@router.post("/workbench/alarms/{alarm_id}/assign", response_class=HTMLResponse)
def assign(alarm_id: str, request: Request, rt: RuntimeDep,
           staff: Annotated[Staff, staff_who_may_see("alarm.assign", alarm_for, "alarm_id")],
           staff_id: Annotated[str, Form(max_length=64)], note: Annotated[str, Form(max_length=2000)] = ""
           ) -> HTMLResponse:
    return _answer(request, rt, staff, alarm_id, do_assign_alarm, staff_id, note=note)
