"""Bringing a work order to an end and back: resolving it (the resolution goes to the customer), closing it
(a satisfaction survey, and a callback for a complaint), reopening it, the customer's survey answer (a low
rating reopens the order) and the callback done. Each `do_*` owns its transaction; the survey, the e-mail
and the workbench refresh leave only after the commit."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from caredesk.errors import Conflict, InvalidInput, NotFound
from caredesk.storage.orm import CallbackTask, SatisfactionSurvey, Staff, WorkOrder
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.workorders._shared import free_capacity, open_order
from caredesk.workorders.actions import append_event, get_work_order, transition
from caredesk.workorders.assignment import ACTIVE, route
from caredesk.workorders.deps import WorkOrderDeps
from caredesk.workorders.events import SurveyAnswered, SurveyDue, WorkOrderChanged
from caredesk.workorders.model import Status
from caredesk.workorders.replies import ReplyOutcome, customer_reply

__all__ = ["CALLBACK_AFTER", "LOW_RATING", "do_answer_survey", "do_close", "do_complete_callback", "do_reopen",
           "do_resolve"]

LOW_RATING = 2  # a rating at or below this reopens the order
CALLBACK_AFTER = timedelta(days=2)


def do_resolve(rt: WorkOrderDeps, order_id: str, *, resolution: str, actor: str, now: datetime) -> ReplyOutcome:
    """Send the resolution to the customer on their channel and mark the order resolved."""
    if not resolution.strip():
        raise InvalidInput("a resolution text is needed", field="resolution")
    with rt.uow() as uow:
        s = uow.session
        order = open_order(s, order_id)
        outcome = customer_reply(rt, uow, order, resolution.strip(), author="agent", now=now)
        order.first_response_at = order.first_response_at or now
        order.awaiting_reply_since = None
        order.fields = {**(order.fields or {}), "resolution": resolution.strip()[:2000]}
        transition(s, order_id, Status.RESOLVED.value, actor=actor, now=now, note=resolution.strip()[:4000])
        free_capacity(rt, s, order, now)
        uow.record(WorkOrderChanged(order_id))
        uow.commit()
    return outcome


def do_close(rt: WorkOrderDeps, order_id: str, *, actor: str, now: datetime) -> tuple[WorkOrder, SatisfactionSurvey,
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
            uow.record(SurveyDue(survey_id))
        callback = None
        if order.problem_type == "complaint":
            callback = CallbackTask(work_order_id=order.id, assignee_id=order.assignee_id,
                                    due_at=now + CALLBACK_AFTER, created_at=now)
            s.add(callback)
            s.flush()
            append_event(s, order, "callback_created", actor="system", now=now,
                         data={"callback_id": callback.id, "due_at": callback.due_at.isoformat()})
        if was_active:
            free_capacity(rt, s, order, now)
        uow.record(WorkOrderChanged(order_id))
        uow.commit()
    return order, survey, callback


def do_reopen(rt: WorkOrderDeps, order_id: str, *, reason: str, actor: str, now: datetime) -> WorkOrder:
    with rt.uow() as uow:
        order = _reopen(rt, uow, order_id, reason=reason, actor=actor, now=now)
        uow.commit()
    return order


def _reopen(rt: WorkOrderDeps, uow: UnitOfWork, order_id: str, *, reason: str, actor: str, now: datetime) -> WorkOrder:
    s = uow.session
    order = transition(s, order_id, Status.REOPENED.value, actor=actor, now=now, note=reason[:2000])
    assignee = s.get(Staff, order.assignee_id) if order.assignee_id else None
    if assignee is None or assignee.away or not assignee.active:
        route(s, order, rt.flows, now=now, actor=actor)
    uow.record(WorkOrderChanged(order_id))
    return order


def do_answer_survey(rt: WorkOrderDeps, token: str, *, rating: int, comment: str, now: datetime) -> SatisfactionSurvey:
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
        uow.record(SurveyAnswered(survey.id, order.id))
        uow.commit()
    return survey


def do_complete_callback(rt: WorkOrderDeps, callback_id: str, *, note: str, actor: str, now: datetime) -> CallbackTask:
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
