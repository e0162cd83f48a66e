"""The incident feedback form: read it, end the meeting (which opens the form), fill, return, sign, and
export the locked event record as Markdown. Writing takes a staff caller: the form knows whose turn it is."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse
from pydantic import Field
from sqlalchemy.orm import Session

from caredesk.accounts.access import incident_for, meeting_for
from caredesk.api.schemas import StrictModel
from caredesk.bootstrap.runtime import Runtime
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
from caredesk.errors import Conflict
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, require
from caredesk.storage.orm import IncidentRecord

router = APIRouter(tags=["incidents"])
Writer = Annotated[Caller, Depends(require("incident.write"))]
Reader = Annotated[Caller, Depends(require("incident.read"))]


class SectionIn(StrictModel):
    content: str = Field(min_length=1, max_length=MAX_SECTION_CHARS)


class ReturnIn(StrictModel):
    reason: str = Field(min_length=1, max_length=2000)


def _staff_id(caller: Caller) -> str | None:
    return caller.id if caller.kind == "staff" else None


def record_out(session: Session, record: IncidentRecord) -> dict[str, Any]:
    return {
        "id": record.id, "meeting_id": record.meeting_id, "status": record.status, "version": record.version,
        "current_position": record.current_position, "form": record.form, "locked_at": record.locked_at,
        "customer_informed_at": record.customer_informed_at,
        "recorders": [{"position": r.position, "staff_id": r.staff_id, "section": r.section, "status": r.status,
                       "signed_at": r.signed_at, "signature": r.signature} for r in record.recorders],
        "entries": [{"kind": e.kind, "section": e.section, "content": e.content, "created_at": e.created_at}
                    for e in list_entries(session, record.id)],
        "versions": [{"version": v.version, "created_by": v.created_by, "created_at": v.created_at}
                     for v in list_versions(session, record.id)],
    }


def _write(rt: Runtime, action: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    record = run_incident_action(rt.uow, action, *args, clock=rt.clock, **kwargs)
    with rt.session_factory() as session:
        return record_out(session, get_record(session, record.id))


@router.get("/meetings/{meeting_id}/incident")
def read_meeting_incident(meeting_id: str, session: SessionDep, caller: Reader) -> dict[str, Any]:
    meeting_for(session, caller, meeting_id)
    return record_out(session, record_for_meeting(session, meeting_id))


@router.post("/meetings/{meeting_id}/end")
def end_meeting(meeting_id: str, rt: RuntimeDep, session: SessionDep,
                caller: Annotated[Caller, Depends(require("meeting.manage"))]) -> dict[str, Any]:
    meeting_for(session, caller, meeting_id)
    return _write(rt, do_end_meeting, meeting_id, actor=caller.actor)


@router.get("/incidents/{record_id}")
def read_incident(record_id: str, session: SessionDep, caller: Reader) -> dict[str, Any]:
    return record_out(session, incident_for(session, caller, record_id))


@router.put("/incidents/{record_id}/section")
def fill_section(record_id: str, body: SectionIn, rt: RuntimeDep, session: SessionDep, caller: Writer
                 ) -> dict[str, Any]:
    incident_for(session, caller, record_id)
    return _write(rt, do_fill_section, record_id, body.content, staff_id=_staff_id(caller))


@router.post("/incidents/{record_id}/return")
def return_form(record_id: str, body: ReturnIn, rt: RuntimeDep, session: SessionDep, caller: Writer
                ) -> dict[str, Any]:
    incident_for(session, caller, record_id)
    return _write(rt, do_return_form, record_id, body.reason, staff_id=_staff_id(caller))


@router.post("/incidents/{record_id}/sign")
def sign_section(record_id: str, rt: RuntimeDep, session: SessionDep, caller: Writer) -> dict[str, Any]:
    incident_for(session, caller, record_id)
    return _write(rt, do_sign_section, record_id, staff_id=_staff_id(caller))


@router.get("/incidents/{record_id}/export.md", response_class=PlainTextResponse)
def export_record(record_id: str, session: SessionDep, caller: Reader) -> PlainTextResponse:
    record = incident_for(session, caller, record_id)
    if record.status != IncidentStatus.LOCKED:
        raise Conflict("the incident form becomes the event record once every recorder has signed",
                       status=record.status)
    return PlainTextResponse(export_markdown(session, record), media_type="text/markdown; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="incident-{record.id}.md"'})
