"""The incident feedback form on the workbench: end the meeting (which opens the form), the form page (full
page or the htmx fragment), and the htmx buttons of the recorder whose turn it is: save, sign, return."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.accounts.access import incident_for, meeting_for
from caredesk.emergency.actions import get_meeting
from caredesk.emergency.incident import MAX_SECTION_CHARS
from caredesk.emergency.incident_actions import (
    do_end_meeting,
    do_fill_section,
    do_return_form,
    do_sign_section,
    get_record,
    list_entries,
    list_versions,
    record_for_meeting,
    run_incident_action,
)
from caredesk.emergency.incident_export import export_markdown
from caredesk.emergency.incident_status import IncidentStatus
from caredesk.errors import CareDeskError, Conflict
from caredesk.http.deps import RuntimeDep, SessionDep
from caredesk.storage.orm import Staff
from caredesk.web.rendering import WebRoute, is_htmx, refusal, render, staff_who_may_see

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)
Reader = Annotated[Staff, staff_who_may_see("incident.read", incident_for, "record_id")]
Writer = Annotated[Staff, staff_who_may_see("incident.write", incident_for, "record_id")]
MeetingReader = Annotated[Staff, staff_who_may_see("incident.read", meeting_for, "meeting_id")]


def _context(session: Session, record_id: str, staff: Staff, error: str | None = None) -> dict[str, Any]:
    record = get_record(session, record_id)
    meeting = get_meeting(session, record.meeting_id)
    ids = [r.staff_id for r in record.recorders]
    people = {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_(ids)))}
    current = next((r for r in record.recorders if r.position == record.current_position), None)
    my_turn = record.status == IncidentStatus.IN_PROGRESS and current is not None and current.staff_id == staff.id
    return {"record": record, "meeting": meeting, "people": people, "entries": list_entries(session, record.id),
            "versions": list_versions(session, record.id), "current": current, "my_turn": my_turn,
            "parts": record.form.get("parts") or {}, "error": error, "max_chars": MAX_SECTION_CHARS}


@router.get("/workbench/incidents/{record_id}", response_class=HTMLResponse)
def incident_page(record_id: str, request: Request, session: SessionDep, staff: Reader) -> HTMLResponse:
    template = "_incident_form.html" if is_htmx(request) else "incident.html"
    return render(request, template, _context(session, record_id, staff), staff=staff,
                  headers={"Vary": "HX-Request"})


@router.get("/workbench/meetings/{meeting_id}/incident")
def meeting_incident(meeting_id: str, session: SessionDep, _: MeetingReader) -> RedirectResponse:
    return RedirectResponse(f"/workbench/incidents/{record_for_meeting(session, meeting_id).id}", status_code=303)


@router.get("/workbench/incidents/{record_id}/export.md")
def incident_export(record_id: str, session: SessionDep, _: Reader) -> PlainTextResponse:
    record = get_record(session, record_id)
    if record.status != IncidentStatus.LOCKED:
        raise Conflict("not locked yet")
    return PlainTextResponse(export_markdown(session, record), media_type="text/markdown; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="incident-{record.id}.md"'})


@router.post("/workbench/meetings/{meeting_id}/end")
def end_meeting(meeting_id: str, rt: RuntimeDep,
                staff: Annotated[Staff, staff_who_may_see("meeting.manage", meeting_for, "meeting_id")]
                ) -> Response:
    record = run_incident_action(rt.uow, do_end_meeting, meeting_id, actor=f"staff:{staff.id}", clock=rt.clock)
    return Response(status_code=204, headers={"HX-Redirect": f"/workbench/incidents/{record.id}"})


def _answer(request: Request, rt: Any, staff: Staff, record_id: str, action: Any, *args: Any) -> HTMLResponse:
    error = None
    try:
        run_incident_action(rt.uow, action, record_id, *args, staff_id=staff.id, clock=rt.clock)
    except CareDeskError as exc:  # not your turn, locked, empty section: shown on the form
        error = refusal(request, exc)
    with rt.session_factory() as session:
        return render(request, "_incident_form.html", _context(session, record_id, staff, error), staff=staff)


@router.post("/workbench/incidents/{record_id}/section", response_class=HTMLResponse)
def save_section(record_id: str, request: Request, rt: RuntimeDep, staff: Writer,
                 content: Annotated[str, Form(max_length=MAX_SECTION_CHARS)]) -> HTMLResponse:
    return _answer(request, rt, staff, record_id, do_fill_section, content)


@router.post("/workbench/incidents/{record_id}/sign", response_class=HTMLResponse)
def sign(record_id: str, request: Request, rt: RuntimeDep, staff: Writer) -> HTMLResponse:
    return _answer(request, rt, staff, record_id, do_sign_section)


@router.post("/workbench/incidents/{record_id}/return", response_class=HTMLResponse)
def return_form(record_id: str, request: Request, rt: RuntimeDep, staff: Writer,
                reason: Annotated[str, Form(max_length=2000)] = "") -> HTMLResponse:
    return _answer(request, rt, staff, record_id, do_return_form, reason)
