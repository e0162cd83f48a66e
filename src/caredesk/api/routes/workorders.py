"""Work orders: list (cursor pages), detail with the event timeline and SLA standing, and every operation
of the flow: status, assignment, transfer, step, reply, note, resolve, close, reopen, merge, split, link."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from caredesk.accounts.access import work_order_filter, work_order_for
from caredesk.api.query_params import Cursor
from caredesk.api.schemas import PageOut, TransitionIn, work_order_out
from caredesk.api.workorder_schemas import (
    AssignIn,
    LinkIn,
    MergeIn,
    NoteIn,
    ReasonIn,
    ReplyIn,
    ResolveIn,
    SplitIn,
    StepIn,
    TransferIn,
    callback_out,
    sla_out,
)
from caredesk.emergency.confirm import do_confirm_emergency
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, audit_read, require
from caredesk.storage.orm import WorkOrder
from caredesk.workorders.actions import do_transition, list_work_orders
from caredesk.workorders.closure import do_close, do_reopen, do_resolve
from caredesk.workorders.queries import order_detail, order_id_of
from caredesk.workorders.relations import do_link, do_merge, do_split
from caredesk.workorders.replies import do_add_note, do_reply
from caredesk.workorders.transfers import do_advance_step, do_assign, do_transfer

router = APIRouter(tags=["work-orders"])

Reader = Annotated[Caller, Depends(require("workorder.read"))]
Changer = Annotated[Caller, Depends(require("workorder.change"))]
Supervisor = Annotated[Caller, Depends(require("workorder.supervise"))]


@router.get("/work-orders", response_model=PageOut)
def list_orders(session: SessionDep, caller: Reader,
                cursor: Cursor = None,
                limit: Annotated[int, Query(ge=1, le=200)] = 50,
                status_category: Literal["open", "paused", "resolved", "closed"] | None = None,
                assignee: Annotated[str | None, Query(max_length=64, description="a staff id, or 'me'")] = None,
                ) -> PageOut:
    assignee_id = caller.id if assignee == "me" else assignee
    page = list_work_orders(session, cursor=cursor, limit=limit, status_category=status_category,
                            assignee_id=assignee_id, scope=_scope(session, caller))
    return PageOut(items=[work_order_out(o) for o in page.items], next_cursor=page.next_cursor)


def _scope(session: Any, caller: Caller) -> Any:
    return work_order_filter(session, caller)


def _visible(session: Any, caller: Caller, order_id: str) -> WorkOrder:
    """Every route on one order checks the caller may see it (else 404) before acting."""
    return work_order_for(session, caller, order_id)


def _detail(rt: Any, session: Any, order_id: str, order: WorkOrder | None = None) -> dict[str, Any]:
    detail = order_detail(session, order_id, rt.sla, rt.clock.now(), order)
    order = detail.order
    out = work_order_out(order, detail.events)
    out["sla"] = sla_out(order.sla_policy, detail.sla)
    out |= {"skill_group_id": order.skill_group_id, "skills": order.skills, "channel": order.channel,
            "language": order.language, "fields": order.fields, "queued_at": order.queued_at,
            "escalation_level": order.escalation_level, "merged_into_id": order.merged_into_id,
            "first_response_at": order.first_response_at, "resolved_at": order.resolved_at,
            "closed_at": order.closed_at, "duty_lead_id": order.duty_lead_id}
    return out


@router.get("/work-orders/{order_id}")
def get_order(order_id: str, rt: RuntimeDep, session: SessionDep, caller: Reader) -> dict[str, Any]:
    """`order_id`: the id, or the case number the customer quotes (C20261206-0042)."""
    order_id = order_id_of(session, order_id)
    order = _visible(session, caller, order_id)
    audit_read(rt, caller, "work_order", order_id)
    return _detail(rt, session, order_id, order)


@router.post("/work-orders/{order_id}/transitions")
def transition_order(order_id: str, body: TransitionIn,
                     rt: RuntimeDep, session: SessionDep, caller: Changer) -> dict[str, Any]:
    _visible(session, caller, order_id)
    order = do_transition(rt.uow(), order_id, body.status, actor=caller.actor, now=rt.clock.now(), note=body.note)
    return work_order_out(order)


@router.post("/work-orders/{order_id}/assign")
def assign_order(order_id: str, body: AssignIn,
                 rt: RuntimeDep, session: SessionDep, caller: Supervisor) -> dict[str, Any]:
    _visible(session, caller, order_id)
    return work_order_out(do_assign(rt, order_id, staff_id=body.staff_id, actor=caller.actor,
                                    now=rt.clock.now()))


@router.post("/work-orders/{order_id}/transfer")
def transfer_order(order_id: str, body: TransferIn,
                   rt: RuntimeDep, session: SessionDep, caller: Changer) -> dict[str, Any]:
    _visible(session, caller, order_id)
    return work_order_out(do_transfer(rt, order_id, department=body.department, reason=body.reason,
                                      actor=caller.actor, now=rt.clock.now()))


@router.post("/work-orders/{order_id}/step")
def advance_order(order_id: str, body: StepIn,
                  rt: RuntimeDep, session: SessionDep, caller: Changer) -> dict[str, Any]:
    _visible(session, caller, order_id)
    return work_order_out(do_advance_step(rt, order_id, step=body.step, fields=body.fields,
                                          actor=caller.actor, now=rt.clock.now()))


@router.post("/work-orders/{order_id}/replies", status_code=201)
def reply_order(order_id: str, body: ReplyIn,
                rt: RuntimeDep, session: SessionDep, caller: Changer) -> dict[str, Any]:
    _visible(session, caller, order_id)
    outcome = do_reply(rt, order_id, text=body.text, macro=body.macro, actor=caller.actor, now=rt.clock.now())
    return {"work_order_id": order_id, "message_id": outcome.message_id, "emailed": outcome.emailed}


@router.post("/work-orders/{order_id}/notes", status_code=201)
def note_order(order_id: str, body: NoteIn, rt: RuntimeDep, session: SessionDep, caller: Changer) -> dict[str, Any]:
    _visible(session, caller, order_id)
    return work_order_out(do_add_note(rt, order_id, text=body.text, actor=caller.actor, now=rt.clock.now()))


@router.post("/work-orders/{order_id}/resolve")
def resolve_order(order_id: str, body: ResolveIn,
                  rt: RuntimeDep, session: SessionDep, caller: Changer) -> dict[str, Any]:
    _visible(session, caller, order_id)
    outcome = do_resolve(rt, order_id, resolution=body.resolution, actor=caller.actor, now=rt.clock.now())
    return work_order_out(outcome.order) | {"message_id": outcome.message_id, "emailed": outcome.emailed}


@router.post("/work-orders/{order_id}/close")
def close_order(order_id: str, rt: RuntimeDep, session: SessionDep, caller: Changer) -> dict[str, Any]:
    _visible(session, caller, order_id)
    order, survey, callback = do_close(rt, order_id, actor=caller.actor, now=rt.clock.now())
    return work_order_out(order) | {"survey_id": survey.id,
                                    "callback": callback_out(callback) if callback else None}


@router.post("/work-orders/{order_id}/reopen")
def reopen_order(order_id: str, body: ReasonIn,
                 rt: RuntimeDep, session: SessionDep, caller: Changer) -> dict[str, Any]:
    _visible(session, caller, order_id)
    return work_order_out(do_reopen(rt, order_id, reason=body.reason, actor=caller.actor, now=rt.clock.now()))


@router.post("/work-orders/{order_id}/emergency", status_code=201)
def confirm_emergency(order_id: str, body: ReasonIn,
                      rt: RuntimeDep, session: SessionDep, caller: Supervisor) -> dict[str, Any]:
    """A lead starts the emergency response that the gate held back for this order's message (once: 409
    after that)."""
    _visible(session, caller, order_id)
    meeting = do_confirm_emergency(rt.uow, rt.emergency, order_id, reason=body.reason, actor=caller.actor,
                                   now=rt.clock.now())
    return {"work_order_id": order_id, "meeting_id": meeting.id, "room_url": meeting.room_url,
            "participants": [p.staff_id for p in meeting.participants]}


@router.post("/work-orders/{order_id}/merge")
def merge_order(order_id: str, body: MergeIn,
                rt: RuntimeDep, session: SessionDep, caller: Supervisor) -> dict[str, Any]:
    _visible(session, caller, order_id)
    _visible(session, caller, body.into)
    return work_order_out(do_merge(rt, order_id, body.into, actor=caller.actor, now=rt.clock.now()))


@router.post("/work-orders/{order_id}/split", status_code=201)
def split_order(order_id: str, body: SplitIn,
                rt: RuntimeDep, session: SessionDep, caller: Changer) -> dict[str, Any]:
    _visible(session, caller, order_id)
    return work_order_out(do_split(rt, order_id, title=body.title, description=body.description,
                                   actor=caller.actor, now=rt.clock.now()))


@router.post("/work-orders/{order_id}/links", status_code=204)
def link_order(order_id: str, body: LinkIn, rt: RuntimeDep, session: SessionDep, caller: Changer) -> None:
    _visible(session, caller, order_id)
    _visible(session, caller, body.other_id)
    do_link(rt, order_id, body.other_id, actor=caller.actor, now=rt.clock.now())


@router.post("/work-orders/{order_id}/viewers")
def announce_viewer(order_id: str, rt: RuntimeDep, session: SessionDep, caller: Reader) -> dict[str, Any]:
    """The collision notice: call while the order is open (every 20 s); lists the others viewing it."""
    _visible(session, caller, order_id)
    return {"others": rt.presence.touch(order_id, caller.id, caller.name)}
