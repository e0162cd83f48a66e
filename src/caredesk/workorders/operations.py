"""What agents and supervisors do to a work order: assign, transfer, move through the flow, reply to the
customer or note internally, resolve, close (survey and callback), reopen, merge, split, link, presence.
Each `do_*` owns its transaction: every change and its event commit together, and the e-mail, live
events and queued tasks leave only after the commit."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from caredesk.errors import ComplianceBlocked, Conflict, InvalidInput, NotFound
from caredesk.runtime import Runtime
from caredesk.storage.orm import (
    CallbackTask,
    Conversation,
    Customer,
    Department,
    Macro,
    Message,
    SatisfactionSurvey,
    Staff,
    WorkOrder,
    WorkOrderLink,
)
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.workorders.actions import append_event, get_work_order, transition
from caredesk.workorders.assignment import ACTIVE, drain_waiting, route
from caredesk.workorders.model import Status

__all__ = [
    "ReplyOutcome", "do_add_note", "do_advance_step", "do_answer_survey", "do_assign", "do_close",
    "do_complete_callback", "do_create_macro", "do_link", "do_merge", "do_reopen", "do_reply", "do_resolve",
    "do_set_away", "do_split", "do_transfer", "render_macro",
]

LOW_RATING = 2  # a rating at or below this reopens the order
CALLBACK_AFTER = timedelta(days=2)


def _open_order(session: Any, order_id: str) -> WorkOrder:
    order = get_work_order(session, order_id, for_update=True)
    if order.status_category not in ACTIVE:
        raise Conflict(f"work order {order_id} is {order.status}; reopen it first", status=order.status)
    return order


def _hop(order: WorkOrder, now: datetime) -> dict[str, Any]:
    started = order.step_started_at or order.created_at
    return {"hop_started_at": started.isoformat(), "hop_minutes": round((now - started).total_seconds() / 60, 2)}


def _reroute(rt: Runtime, session: Any, order: WorkOrder, department_id: str | None, *, actor: str,
             now: datetime) -> None:
    """Move the order to a department (its step's group chosen again), route it there, and give the
    capacity it held to the waiting queue it leaves."""
    old_group, old_department = order.skill_group_id, order.department_id
    order.department_id = department_id
    order.skill_group_id = order.assignee_id = order.assigned_at = order.queued_at = None
    route(session, order, rt.flows, now=now, actor=actor)
    drain_waiting(session, rt.flows, skill_group_ids=[old_group], department_ids=[old_department], now=now)


def _announce(rt: Runtime, uow: UnitOfWork, order_id: str) -> None:
    """The workbench refreshes the order once the change is committed."""
    uow.on_commit(lambda: rt.live.publish({"type": "work_order", "work_order_id": order_id}))


def _free_capacity(rt: Runtime, session: Any, order: WorkOrder, now: datetime) -> None:
    drain_waiting(session, rt.flows, skill_group_ids=[order.skill_group_id], department_ids=[order.department_id],
                  now=now)


def do_assign(rt: Runtime, order_id: str, *, staff_id: str | None, actor: str, now: datetime) -> WorkOrder:
    """Give the order to a named agent, or (staff_id None) route it again by its group's strategy."""
    with rt.uow() as uow:
        s = uow.session
        order = _open_order(s, order_id)
        if staff_id is None:
            route(s, order, rt.flows, now=now, actor=actor)
        else:
            staff = s.get(Staff, staff_id)
            if staff is None or not staff.active:
                raise NotFound("staff member not found", id=staff_id)
            previous = order.assignee_id
            order.assignee_id, order.assigned_at, order.queued_at, order.updated_at = staff.id, now, None, now
            staff.last_assigned_at = now
            append_event(s, order, "assigned", actor=actor, now=now,
                         data={"staff_id": staff.id, "staff": staff.display_name, "from": previous,
                               "reason": "assigned by hand"})
        _announce(rt, uow, order_id)
        uow.commit()
    return order


def do_transfer(rt: Runtime, order_id: str, *, department: str, reason: str, actor: str, now: datetime
                ) -> WorkOrder:
    """Hand the order to another department with a reason; the hop just ended is timed on the event."""
    if not reason.strip():
        raise InvalidInput("a transfer needs a reason", field="reason")
    with rt.uow() as uow:
        s = uow.session
        order = _open_order(s, order_id)
        target = s.scalar(select(Department).where(Department.code == department))
        if target is None:
            raise NotFound("department not found", code=department)
        if target.id == order.department_id:
            raise Conflict("the order is already in that department", department=department)
        source = s.get(Department, order.department_id) if order.department_id else None
        append_event(s, order, "transferred", actor=actor, now=now, note=reason.strip()[:2000],
                     data={"from_department": source.code if source else None, "to_department": target.code,
                           "reason": reason.strip()[:500]} | _hop(order, now))
        order.step_started_at = now
        _reroute(rt, s, order, target.id, actor=actor, now=now)
        _announce(rt, uow, order_id)
        uow.commit()
    return order


def do_advance_step(rt: Runtime, order_id: str, *, step: str, fields: dict[str, str], actor: str,
                    now: datetime) -> WorkOrder:
    """Move to a step the flow allows from here, once the fields the current step requires are filled."""
    with rt.uow() as uow:
        s = uow.session
        order = _open_order(s, order_id)
        flow = rt.flows.get(order.flow)
        current = flow.step(order.step) if flow else None
        nxt = flow.step(step) if flow else None
        if flow is None or current is None:
            raise Conflict(f"the order's flow {order.flow!r} or step {order.step!r} is no longer configured")
        if nxt is None or step not in current.next:
            raise Conflict(f"flow {flow.name} does not go from {current.name} to {step}", allowed=list(current.next))
        values = {**(order.fields or {}), **{k: str(v).strip() for k, v in fields.items() if str(v).strip()}}
        missing = [f for f in current.requires if not values.get(f)]
        if missing:
            raise InvalidInput(f"leaving {current.name} needs {', '.join(missing)}", missing=missing)
        department = s.scalar(select(Department).where(Department.code == nxt.department))
        append_event(s, order, "step_changed", actor=actor, now=now,
                     data={"from": current.name, "to": nxt.name, "fields": {k: values[k] for k in current.requires},
                           "department": nxt.department} | _hop(order, now))
        order.fields, order.step, order.step_started_at, order.updated_at = values, nxt.name, now, now
        if nxt.timer_minutes:
            order.due_at = min(filter(None, [order.due_at, now + timedelta(minutes=nxt.timer_minutes)]))
        if (department is not None and department.id != order.department_id) or nxt.skill_group:
            _reroute(rt, s, order, department.id if department else order.department_id, actor=actor, now=now)
        _announce(rt, uow, order_id)
        uow.commit()
    return order


def render_macro(macro: Macro, *, language: str | None, order: WorkOrder, customer: Customer | None) -> str:
    body = macro.body_en if language == "en" else macro.body_zh
    name = (customer.name if customer and customer.name else "") or ("customer" if language == "en" else "客户")
    return body.replace("{customer}", name).replace("{order}", order.id)


@dataclass(frozen=True)
class ReplyOutcome:
    order: WorkOrder
    message_id: str | None
    emailed: bool


def _customer_reply(rt: Runtime, uow: UnitOfWork, order: WorkOrder, text: str, *, author: str, now: datetime
                    ) -> ReplyOutcome:
    """A reply on the channel the customer used: a message in their conversation, and an e-mail when the
    channel is e-mail and the address is known. The outgoing compliance rules check it first: a blocked
    reply is refused with the reasons, a warned one goes out with the warning on the order's timeline."""
    s = uow.session
    check = rt.outgoing.check(text)
    if check.blocked:
        raise ComplianceBlocked(f"the reply was not sent: {check.reason()}", check=check.to_json())
    if check.hits:
        append_event(s, order, "compliance_warning", actor="compliance", now=now, data=check.to_json())
    conversation = s.get(Conversation, order.conversation_id) if order.conversation_id else None
    message_id = None
    if conversation is not None:
        message = Message(conversation_id=conversation.id, direction="out", author=author, text=text,
                          text_masked=text, language=order.language, created_at=now)
        s.add(message)
        s.flush()
        message_id = message.id
        conversation.last_message_at = now
    customer = s.get(Customer, order.customer_id) if order.customer_id else None
    emailed = bool(order.channel == "email" and customer is not None and customer.email)
    if emailed:
        uow.on_commit(lambda: rt.queue.enqueue("workorders.send_reply_email", order.id, message_id or ""))
    return ReplyOutcome(order, message_id, emailed)


def do_reply(rt: Runtime, order_id: str, *, text: str = "", macro: str | None = None, actor: str,
             now: datetime) -> ReplyOutcome:
    """Answer the customer (stops the first/next-response clocks); `macro` fills in a canned reply."""
    with rt.uow() as uow:
        s = uow.session
        order = _open_order(s, order_id)
        if macro:
            found = s.scalar(select(Macro).where(Macro.code == macro))
            if found is None:
                raise NotFound("macro not found", code=macro)
            customer = s.get(Customer, order.customer_id) if order.customer_id else None
            text = (render_macro(found, language=order.language, order=order, customer=customer)
                    + ("\n\n" + text if text.strip() else ""))
        if not text.strip():
            raise InvalidInput("the reply is empty", field="text")
        outcome = _customer_reply(rt, uow, order, text.strip(), author="agent", now=now)
        order.first_response_at = order.first_response_at or now
        order.awaiting_reply_since, order.updated_at = None, now
        order.sla_next_check_at = now if order.sla_policy else None
        append_event(s, order, "reply", actor=actor, now=now, note=text.strip()[:4000],
                     data={"message_id": outcome.message_id, "macro": macro, "emailed": outcome.emailed})
        _announce(rt, uow, order_id)
        uow.commit()
    return outcome


def do_add_note(rt: Runtime, order_id: str, *, text: str, actor: str, now: datetime) -> WorkOrder:
    """An internal note: on the timeline for staff, never sent to the customer."""
    if not text.strip():
        raise InvalidInput("the note is empty", field="text")
    with rt.uow() as uow:
        order = get_work_order(uow.session, order_id, for_update=True)
        append_event(uow.session, order, "note", actor=actor, now=now, note=text.strip()[:4000],
                     data={"internal": True})
        order.updated_at = now
        uow.commit()
    return order


def do_resolve(rt: Runtime, order_id: str, *, resolution: str, actor: str, now: datetime) -> ReplyOutcome:
    """Send the resolution to the customer on their channel and mark the order resolved."""
    if not resolution.strip():
        raise InvalidInput("a resolution text is needed", field="resolution")
    with rt.uow() as uow:
        s = uow.session
        order = _open_order(s, order_id)
        outcome = _customer_reply(rt, uow, order, resolution.strip(), author="agent", now=now)
        order.first_response_at = order.first_response_at or now
        order.awaiting_reply_since = None
        order.fields = {**(order.fields or {}), "resolution": resolution.strip()[:2000]}
        transition(s, order_id, Status.RESOLVED.value, actor=actor, now=now, note=resolution.strip()[:4000])
        _free_capacity(rt, s, order, now)
        _announce(rt, uow, order_id)
        uow.commit()
    return outcome


def do_close(rt: Runtime, order_id: str, *, actor: str, now: datetime) -> tuple[WorkOrder, SatisfactionSurvey,
                                                                               CallbackTask | None]:
    """Close the order: a satisfaction survey goes to the customer, and a closed complaint gets a callback."""
    with rt.uow() as uow:
        s = uow.session
        order = get_work_order(s, order_id, for_update=True)
        was_active = order.status_category in ACTIVE
        transition(s, order_id, Status.CLOSED.value, actor=actor, now=now)
        survey = s.scalar(select(SatisfactionSurvey).where(SatisfactionSurvey.work_order_id == order.id))
        if survey is None:  # a reopened and closed-again order keeps its one survey
            survey = SatisfactionSurvey(work_order_id=order.id, token=secrets.token_urlsafe(24),
                                        channel=order.channel or "chat", created_at=now)
            s.add(survey)
            s.flush()
            survey_id = survey.id
            uow.on_commit(lambda: rt.queue.enqueue("workorders.send_survey", survey_id))
        callback = None
        if order.problem_type == "complaint":
            callback = CallbackTask(work_order_id=order.id, assignee_id=order.assignee_id,
                                    due_at=now + CALLBACK_AFTER, created_at=now)
            s.add(callback)
            s.flush()
            append_event(s, order, "callback_created", actor="system", now=now,
                         data={"callback_id": callback.id, "due_at": callback.due_at.isoformat()})
        if was_active:
            _free_capacity(rt, s, order, now)
        _announce(rt, uow, order_id)
        uow.commit()
    return order, survey, callback


def do_reopen(rt: Runtime, order_id: str, *, reason: str, actor: str, now: datetime) -> WorkOrder:
    with rt.uow() as uow:
        order = _reopen(rt, uow, order_id, reason=reason, actor=actor, now=now)
        uow.commit()
    return order


def _reopen(rt: Runtime, uow: UnitOfWork, order_id: str, *, reason: str, actor: str, now: datetime) -> WorkOrder:
    s = uow.session
    order = transition(s, order_id, Status.REOPENED.value, actor=actor, now=now, note=reason[:2000])
    assignee = s.get(Staff, order.assignee_id) if order.assignee_id else None
    if assignee is None or assignee.away or not assignee.active:
        route(s, order, rt.flows, now=now, actor=actor)
    _announce(rt, uow, order_id)
    return order


def do_answer_survey(rt: Runtime, token: str, *, rating: int, comment: str, now: datetime) -> SatisfactionSurvey:
    """The customer's rating (1-5) and comment, once; a low rating reopens the order."""
    if not 1 <= rating <= 5:
        raise InvalidInput("rating must be 1 to 5", field="rating")
    with rt.uow() as uow:
        s = uow.session
        survey = s.scalar(select(SatisfactionSurvey).where(SatisfactionSurvey.token == token).with_for_update())
        if survey is None:
            raise NotFound("survey not found")
        if survey.answered_at is not None:
            raise Conflict("this survey was already answered")
        survey.rating, survey.comment, survey.answered_at = rating, comment.strip()[:2000], now
        order = get_work_order(s, survey.work_order_id, for_update=True)
        append_event(s, order, "survey_answered", actor="customer", now=now, note=survey.comment,
                     data={"rating": rating})
        if rating <= LOW_RATING and order.status_category in ("resolved", "closed"):
            _reopen(rt, uow, order.id, reason=f"customer rated {rating}/5: not solved", actor="customer", now=now)
        uow.commit()
    return survey


def _link(s: Any, a: WorkOrder, b: WorkOrder, kind: str, back: str, now: datetime) -> None:
    for src, dst, k in ((a, b, kind), (b, a, back)):
        exists = s.scalar(select(WorkOrderLink.id).where(WorkOrderLink.work_order_id == src.id,
                                                         WorkOrderLink.other_id == dst.id, WorkOrderLink.kind == k))
        if exists is None:
            s.add(WorkOrderLink(work_order_id=src.id, other_id=dst.id, kind=k, created_at=now))


def do_link(rt: Runtime, order_id: str, other_id: str, *, actor: str, now: datetime) -> None:
    if order_id == other_id:
        raise InvalidInput("an order cannot be linked to itself", field="other_id")
    with rt.uow() as uow:
        s = uow.session
        a, b = get_work_order(s, order_id, for_update=True), get_work_order(s, other_id, for_update=True)
        _link(s, a, b, "related", "related", now)
        append_event(s, a, "linked", actor=actor, now=now, data={"other_id": b.id})
        append_event(s, b, "linked", actor=actor, now=now, data={"other_id": a.id})
        uow.commit()


def do_merge(rt: Runtime, source_id: str, target_id: str, *, actor: str, now: datetime) -> WorkOrder:
    """Fold a duplicate into another order: the source closes, pointing at the target; both keep their logs."""
    if source_id == target_id:
        raise InvalidInput("an order cannot be merged into itself", field="target_id")
    with rt.uow() as uow:
        s = uow.session
        source, target = _open_order(s, source_id), _open_order(s, target_id)
        _link(s, source, target, "merged_into", "merged_from", now)
        source.merged_into_id = target.id
        append_event(s, target, "merged", actor=actor, now=now, data={"from": source.id},
                     note=source.description[:2000])
        transition(s, source_id, Status.CLOSED.value, actor=actor, now=now, note=f"merged into {target.id}")
        _free_capacity(rt, s, source, now)
        uow.commit()
    return target


def do_split(rt: Runtime, order_id: str, *, title: str, description: str, actor: str, now: datetime
             ) -> WorkOrder:
    """Take one problem out of an order into a new order of the same customer, routed on its own."""
    if not title.strip():
        raise InvalidInput("the new order needs a title", field="title")
    with rt.uow() as uow:
        s = uow.session
        parent = _open_order(s, order_id)
        child = WorkOrder(conversation_id=parent.conversation_id, customer_id=parent.customer_id,
                          message_id=parent.message_id, title=title.strip()[:300],
                          description=(description or title).strip()[:10_000], content_type=parent.content_type,
                          problem_type=parent.problem_type, urgency=parent.urgency, priority=parent.priority,
                          flow=parent.flow, step=parent.step, status=Status.NEW.value, status_category="open",
                          department_id=parent.department_id, channel=parent.channel, language=parent.language,
                          customer_tier=parent.customer_tier, category=parent.category, skills=list(parent.skills),
                          fields={}, sla_policy=parent.sla_policy, created_at=now, updated_at=now,
                          step_started_at=now, sla_next_check_at=now if parent.sla_policy else None)
        s.add(child)
        s.flush()
        _link(s, child, parent, "split_from", "split_into", now)
        append_event(s, child, "created", actor=actor, now=now, data={"split_from": parent.id})
        append_event(s, parent, "split", actor=actor, now=now, data={"into": child.id}, note=child.title)
        route(s, child, rt.flows, now=now, actor=actor)
        uow.commit()
    return child


def do_set_away(rt: Runtime, staff_id: str, *, away: bool, actor: str, now: datetime) -> list[str]:
    """An agent leaves or comes back; coming back drains the waiting queues of their groups."""
    with rt.uow() as uow:
        s = uow.session
        staff = s.get(Staff, staff_id)
        if staff is None:
            raise NotFound("staff member not found", id=staff_id)
        staff.away = away
        assigned: list[str] = []
        if not away:
            assigned = drain_waiting(s, rt.flows, skill_group_ids=[g.id for g in staff.skill_groups],
                                     department_ids=[staff.department_id], now=now)
        uow.commit()
    return assigned


def do_create_macro(rt: Runtime, *, code: str, title_zh: str, title_en: str, body_zh: str, body_en: str,
                    actor: str, now: datetime) -> Macro:
    with rt.uow() as uow:
        if uow.session.scalar(select(Macro.id).where(Macro.code == code)) is not None:
            raise Conflict("a macro with this code exists", code=code)
        macro = Macro(code=code, title_zh=title_zh, title_en=title_en, body_zh=body_zh, body_en=body_en,
                      created_at=now)
        uow.session.add(macro)
        uow.commit()
    return macro


def do_complete_callback(rt: Runtime, callback_id: str, *, note: str, actor: str, now: datetime) -> CallbackTask:
    with rt.uow() as uow:
        s = uow.session
        task = s.scalar(select(CallbackTask).where(CallbackTask.id == callback_id).with_for_update())
        if task is None:
            raise NotFound("callback not found", id=callback_id)
        if task.status == "done":
            raise Conflict("this callback is already done")
        task.status, task.done_at, task.note = "done", now, note.strip()[:2000]
        order = get_work_order(s, task.work_order_id, for_update=True)
        append_event(s, order, "callback_done", actor=actor, now=now, note=task.note,
                     data={"callback_id": task.id})
        uow.commit()
    return task
