"""Escalation alarms: list (filtered by conversation), detail with events and deliveries, and the
lifecycle: acknowledge, assign, resolve."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from caredesk.accounts.access import alarm_filter, alarm_for
from caredesk.alarms.actions import list_alarms
from caredesk.alarms.lifecycle import (
    AlarmActor,
    do_acknowledge_alarm,
    do_assign_alarm,
    do_resolve_alarm,
    get_alarm,
    list_alarm_deliveries,
    list_alarm_events,
    run_alarm_action,
)
from caredesk.api.schemas import StrictModel, alarm_out
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, require

router = APIRouter(tags=["alarms"])


class AlarmNoteIn(StrictModel):
    note: str = Field(default="", max_length=2000)


class AlarmAssignIn(AlarmNoteIn):
    staff_id: str = Field(min_length=1, max_length=64)


def actor_of(caller: Caller) -> AlarmActor:
    return AlarmActor(caller.actor, caller.id if caller.kind == "staff" else None)


def alarm_detail(session: Any, alarm_id: str) -> dict[str, Any]:
    alarm = get_alarm(session, alarm_id)
    return alarm_out(alarm) | {
        "events": [{"kind": e.kind, "actor": e.actor, "data": e.data, "note": e.note, "created_at": e.created_at}
                   for e in list_alarm_events(session, alarm_id)],
        "deliveries": [{"id": d.id, "level": d.level, "channel": d.channel, "recipient": d.recipient,
                        "status": d.status, "attempts": d.attempts, "last_error": d.last_error,
                        "not_before": d.not_before, "sent_at": d.sent_at, "claimed_until": d.claimed_until}
                       for d in list_alarm_deliveries(session, alarm_id)],
    }


@router.get("/alarms")
def get_alarms(session: SessionDep, caller: Annotated[Caller, Depends(require("alarm.read"))],
               conversation_id: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    return {"items": [alarm_out(a) for a in list_alarms(session, conversation_id,
                                                        scope=alarm_filter(session, caller))]}


@router.get("/alarms/{alarm_id}")
def read_alarm(alarm_id: str, session: SessionDep, caller: Annotated[Caller, Depends(require("alarm.read"))]
               ) -> dict[str, Any]:
    alarm_for(session, caller, alarm_id)
    return alarm_detail(session, alarm_id)


@router.post("/alarms/{alarm_id}/acknowledge")
def acknowledge_alarm(alarm_id: str, rt: RuntimeDep, session: SessionDep,
                      caller: Annotated[Caller, Depends(require("alarm.handle"))],
                      body: AlarmNoteIn | None = None) -> dict[str, Any]:
    alarm_for(session, caller, alarm_id)
    note = body.note if body else ""
    return alarm_out(run_alarm_action(rt.uow, do_acknowledge_alarm, alarm_id, actor_of(caller), note=note,
                                      clock=rt.clock))


@router.post("/alarms/{alarm_id}/assign")
def assign_alarm(alarm_id: str, body: AlarmAssignIn, rt: RuntimeDep, session: SessionDep,
                 caller: Annotated[Caller, Depends(require("alarm.assign"))]) -> dict[str, Any]:
    alarm_for(session, caller, alarm_id)
    return alarm_out(run_alarm_action(rt.uow, do_assign_alarm, alarm_id, body.staff_id, actor_of(caller),
                                      note=body.note, clock=rt.clock))


@router.post("/alarms/{alarm_id}/resolve")
def resolve_alarm(alarm_id: str, rt: RuntimeDep, session: SessionDep,
                  caller: Annotated[Caller, Depends(require("alarm.handle"))],
                  body: AlarmNoteIn | None = None) -> dict[str, Any]:
    alarm_for(session, caller, alarm_id)
    note = body.note if body else ""
    return alarm_out(run_alarm_action(rt.uow, do_resolve_alarm, alarm_id, actor_of(caller), note=note,
                                      clock=rt.clock))
