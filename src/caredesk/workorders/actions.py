"""Work-order actions. Nothing else changes a work order; every change appends an event in the same
transaction. The caller's unit of work commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from caredesk.ids import new_id
from caredesk.profiles.priority import profile_lift
from caredesk.profiles.scores import scores_of
from caredesk.sla.policy import SlaConfig
from caredesk.sla.tracking import start_sla
from caredesk.storage.orm import Conversation, Customer, Department, Message, WorkOrder, WorkOrderEvent
from caredesk.storage.pagination import Page, paginate
from caredesk.storage.rows import row_by_id
from caredesk.storage.unit_of_work import UnitOfWork, events_of
from caredesk.triage.doc import TriageDoc
from caredesk.workorders.assignment import route
from caredesk.workorders.case_numbers import allocate_case_number
from caredesk.workorders.events import MILESTONE_KINDS, WorkOrderMilestone
from caredesk.workorders.flows import Flow, choose_flow
from caredesk.workorders.lead_notice import tell_lead_of_strong_emotion
from caredesk.workorders.model import (
    EMERGENCY_REASON,
    UNCONFIRMED_REASON,
    Status,
    StatusCategory,
    category_of,
    check_transition,
    priority_of,
)
from caredesk.workorders.skills import SkillLexicon, load_skill_lexicon
from caredesk.workorders.timeline_hooks import run_timeline_hooks

__all__ = [
    "append_event", "do_open_work_order", "do_transition", "get_work_order", "list_events", "list_work_orders",
    "transition",
]


_SEQS = "caredesk.event_seqs"  # session.info: (the transaction, {order id: the last seq it gave})


def _last_seqs(session: Session) -> dict[str, int]:
    """The orders' last event numbers known in the session's current transaction (a new transaction starts
    afresh): an order's events are read once per transaction, then counted here (the caller holds the order's
    row, or has just created it, so nobody else appends meanwhile)."""
    transaction = session.get_transaction()
    held = session.info.get(_SEQS)
    if held is None or held[0] is not transaction:
        held = session.info[_SEQS] = (transaction, {})
    seqs: dict[str, int] = held[1]
    return seqs


def append_event(session: Session, order: WorkOrder, kind: str, *, actor: str, now: datetime,
                 data: dict[str, Any] | None = None, note: str = "") -> WorkOrderEvent:
    seqs = _last_seqs(session)
    last = seqs.get(order.id)
    if last is None:
        last = session.scalar(select(func.max(WorkOrderEvent.seq)).where(WorkOrderEvent.work_order_id == order.id)
                              ) or 0
    seq = seqs[order.id] = last + 1
    event = WorkOrderEvent(work_order_id=order.id, seq=seq, kind=kind, actor=actor, data=data or {}, note=note,
                           created_at=now)
    session.add(event)
    run_timeline_hooks(session, order, event)  # e.g. the customer's notice, in this same transaction
    if kind in MILESTONE_KINDS:  # outside systems hear of it (webhooks), recorded in this transaction
        events_of(session, now=now).record(WorkOrderMilestone(order.id, seq, kind))
    return event


def do_open_work_order(session: Session, *, flows: dict[str, Flow], conversation: Conversation, customer: Customer,
                       message: Message, doc: TriageDoc, reason: str, now: datetime, case_zone: tzinfo,
                       sla: SlaConfig | None = None, skills: SkillLexicon | None = None,
                       confirm_emergency: bool = False, handoff: bool = False, emergency: bool = False,
                       reason_codes: Sequence[Mapping[str, object]] = ()) -> WorkOrder:
    """Open an order in the flow that fits the triage, start its SLA clock and route it to an agent (or
    its group's waiting queue), all in the caller's transaction, which also takes its case number (the day in
    `case_zone`). `confirm_emergency`: urgent below the
    emergency gate, so the order goes first in the queue and its timeline says a lead is to confirm;
    `handoff`: the customer asked for a person; `emergency`: the order tracks a started emergency response to
    closure (first in the queue). The customer's profile lifts the priority (profiles/priority.py); strong
    emotion from a high-tier customer also tells the team lead at once (workorders/lead_notice.py)."""
    labels: dict[str, Any] = {head: score.label for head, score in doc.labels.items()}
    flow = choose_flow(flows, labels | {"complaint_types": list(doc.complaint_types)})
    first = flow.steps[0]
    department_id = session.scalar(select(Department.id).where(Department.code == first.department))
    lift = profile_lift(scores_of(session, customer.id), tier=customer.tier, emotion=doc.emotion.label,
                        emotion_confidence=doc.emotion.confidence, complaint_level=doc.complaint_level)
    priority, priority_reasons = priority_of(labels["urgency"], customer.tier, doc.emotion.label, lift)
    if confirm_emergency:
        priority, priority_reasons = 1, [*priority_reasons, UNCONFIRMED_REASON]
    if emergency:
        priority, priority_reasons = 1, [*priority_reasons, EMERGENCY_REASON]
    title = doc.masked if len(doc.masked) <= 80 else doc.masked[:79] + "…"
    order = WorkOrder(id=new_id(), case_number=allocate_case_number(session, now=now, zone=case_zone),
                      conversation_id=conversation.id, customer_id=customer.id, message_id=message.id, title=title,
                      description=doc.masked, content_type=labels["content_type"],
                      problem_type=labels["problem_type"], urgency=labels["urgency"], priority=priority,
                      flow=flow.name, step=first.name, status=Status.NEW.value,
                      status_category=category_of(Status.NEW).value, department_id=department_id,
                      channel=conversation.channel, language=doc.language if doc.language in ("zh", "en") else None,
                      customer_tier=customer.tier or "standard", category=flow.name,
                      skills=sorted((skills or load_skill_lexicon()).skills_in(doc.masked)), fields={},
                      created_at=now, updated_at=now, step_started_at=now, awaiting_reply_since=None,
                      next_due_at=now + timedelta(minutes=first.timer_minutes) if first.timer_minutes else None)
    # the id is given and the SLA clock set before the insert: one INSERT, which the routing's first read
    # flushes, instead of an INSERT and an UPDATE; a new order has no events yet (no max(seq) read)
    policy = start_sla(order, sla, now) if sla is not None else None
    session.add(order)
    _last_seqs(session)[order.id] = 0
    append_event(session, order, "created", actor="system", now=now,
                 data={"flow": flow.name, "flow_version": flow.version, "step": first.name,
                       "department": first.department, "priority": priority,
                       "priority_reasons": priority_reasons, "reason": reason,
                       "decision_reasons": list(reason_codes), "skills": order.skills,
                       "sla_policy": policy.name if policy else None})
    if confirm_emergency:
        append_event(session, order, "emergency_suggested", actor="system", now=now,
                     data={"reason": reason, "note_code": "emergency_unconfirmed"},
                     note="urgent below the emergency gate: a lead confirms before the emergency response starts")
    if handoff:
        append_event(session, order, "handoff_requested", actor="customer", now=now,
                     data={"note_code": "handoff_requested"}, note="the customer asked for a person")
    route(session, order, flows, now=now, level_now=doc.complaint_level)
    if lift.strong_emotion:
        tell_lead_of_strong_emotion(session, order, now=now, reasons=lift.reasons)
    return order


def get_work_order(session: Session, order_id: str, *, for_update: bool = False) -> WorkOrder:
    return row_by_id(session, WorkOrder, order_id, what="work order", lock=for_update)


def do_transition(uow: UnitOfWork, order_id: str, target: str, *, actor: str, now: datetime, note: str = ""
                  ) -> WorkOrder:
    with uow:
        order = transition(uow.session, order_id, target, actor=actor, now=now, note=note)
        uow.commit()
    return order


def transition(session: Session, order_id: str, target: str, *, actor: str, now: datetime, note: str = "",
               data: Mapping[str, Any] | None = None) -> WorkOrder:
    """Change the status; the SLA clock stops in paused categories (the pause is read back from this
    event) and the order is re-checked at once when it runs again."""
    order = get_work_order(session, order_id, for_update=True)
    status = check_transition(order.status, target)
    previous = order.status
    category = category_of(status)
    order.status, order.status_category, order.updated_at = status.value, category.value, now
    if category == StatusCategory.PAUSED:
        order.paused_at = order.paused_at or now
    else:
        order.paused_at = None
    if category == StatusCategory.RESOLVED:
        order.resolved_at = order.resolved_at or now
    elif category == StatusCategory.CLOSED:
        order.closed_at, order.resolved_at = now, order.resolved_at or now
    else:  # open again (also after a reopen): the clocks run
        order.resolved_at = order.closed_at = None
    order.sla_next_check_at = now if order.sla_policy and category in (StatusCategory.OPEN, StatusCategory.PAUSED) \
        else None
    append_event(session, order, "status_changed", actor=actor, now=now,
                 data={"from": previous, "to": status.value} | dict(data or {}), note=note)
    return order


def list_events(session: Session, order_id: str) -> list[WorkOrderEvent]:
    return list(session.scalars(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order_id)
                                .order_by(WorkOrderEvent.seq)))


def list_work_orders(session: Session, *, cursor: str | None, limit: int, status_category: str | None = None,
                     department_id: str | None = None, assignee_id: str | None = None,
                     scope: ColumnElement[bool] | None = None) -> Page[WorkOrder]:
    stmt = select(WorkOrder) if scope is None else select(WorkOrder).where(scope)
    if status_category:
        stmt = stmt.where(WorkOrder.status_category == status_category)
    if department_id:
        stmt = stmt.where(WorkOrder.department_id == department_id)
    if assignee_id:
        stmt = stmt.where(WorkOrder.assignee_id == assignee_id)
    return paginate(session, stmt, WorkOrder.id, cursor, limit)
