"""Applying the SLA rules (sla/policy.py) to stored orders, inside the caller's transaction: the
timeline from the event log, the policy at opening, and the check that records warnings, breaches and
escalations once each (SlaMark's unique key), tells the right people in-app and queues their e-mail."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caredesk.sla.policy import SlaConfig, SlaPolicy, SlaState, SlaStatus, SlaTimeline, Target, evaluate
from caredesk.storage.orm import Notification, SlaMark, Staff, WorkOrder, WorkOrderEvent
from caredesk.workorders.model import Status, StatusCategory, category_of

__all__ = ["NewMark", "check_order", "facts_of", "minutes_to_first_response", "next_check_at", "start_sla",
           "timeline_of", "timelines_of"]


def facts_of(order: WorkOrder) -> dict[str, str | None]:
    return {"category": order.category or order.flow, "problem_type": order.problem_type,
            "content_type": order.content_type, "urgency": order.urgency, "customer_tier": order.customer_tier}


def _category(status: str | None) -> StatusCategory | None:
    try:
        return category_of(Status(status)) if status else None
    except ValueError:
        return None


def timeline_of(session: Session, order: WorkOrder) -> SlaTimeline:
    """Paused spans come from the status changes in the log; the rest from the order's columns."""
    events = session.execute(select(WorkOrderEvent.data, WorkOrderEvent.created_at).where(
        WorkOrderEvent.work_order_id == order.id, WorkOrderEvent.kind == "status_changed")
        .order_by(WorkOrderEvent.seq))
    return _timeline(order, list(events))


def timelines_of(session: Session, orders: list[WorkOrder]) -> dict[str, SlaTimeline]:
    """`timeline_of` for a page of orders in one query (the queues show every row's SLA)."""
    changes: dict[str, list[tuple[dict[str, Any], datetime]]] = {o.id: [] for o in orders}
    if orders:
        columns = (WorkOrderEvent.work_order_id, WorkOrderEvent.data, WorkOrderEvent.created_at)
        rows = session.execute(select(*columns).where(WorkOrderEvent.work_order_id.in_(list(changes)),
                                                      WorkOrderEvent.kind == "status_changed")
                               .order_by(WorkOrderEvent.work_order_id, WorkOrderEvent.seq))
        for order_id, data, at in rows:
            changes[order_id].append((data, at))
    return {o.id: _timeline(o, changes[o.id]) for o in orders}


def _timeline(order: WorkOrder, status_changes: list[Any]) -> SlaTimeline:
    pauses: list[tuple[datetime, datetime | None]] = []
    started: datetime | None = None
    for data, at in status_changes:
        to, src = _category(data.get("to")), _category(data.get("from"))
        if to == StatusCategory.PAUSED and started is None:
            started = at
        elif src == StatusCategory.PAUSED and to != StatusCategory.PAUSED and started is not None:
            pauses.append((started, at))
            started = None
    if started is not None:
        pauses.append((started, None))
    # A staff reply clears `awaiting_reply_since`, so a running next-response clock is always unanswered.
    return SlaTimeline(opened_at=order.created_at, pauses=pauses, first_response_at=order.first_response_at,
                       awaiting_reply_since=order.awaiting_reply_since, resolved_at=order.resolved_at)


def next_check_at(policy: SlaPolicy, statuses: list[SlaStatus]) -> datetime | None:
    """The next instant at which something can happen: a warning, a breach, or the next escalation step."""
    instants: list[datetime] = []
    for st in statuses:
        if st.state == SlaState.RUNNING and st.warn_at:
            instants.append(st.warn_at)
        elif st.state in (SlaState.RUNNING, SlaState.WARNING) and st.due_at:
            instants.append(st.due_at)
        elif st.state == SlaState.BREACHED and st.due_at:
            later = [s for s in policy.escalation if s.after_minutes > st.overdue_minutes]
            if later:
                instants.append(policy.calendar.add_minutes(st.due_at, later[0].after_minutes))
    return min(instants) if instants else None


def start_sla(order: WorkOrder, config: SlaConfig, now: datetime) -> SlaPolicy | None:
    policy = config.policy_for(facts_of(order))
    order.sla_policy = policy.name if policy else None
    if policy is not None:
        statuses = evaluate(policy, SlaTimeline(opened_at=order.created_at), now)
        order.sla_next_check_at = next_check_at(policy, statuses)
        resolution = next((s for s in statuses if s.target.value == "resolution"), None)
        if resolution and resolution.due_at:
            order.next_due_at = resolution.due_at
    return policy


@dataclass(frozen=True)
class NewMark:
    mark_id: str
    order_id: str
    target: str
    kind: str
    staff_id: str | None


def minutes_to_first_response(config: SlaConfig, order: WorkOrder, now: datetime) -> int | None:
    """Minutes until a just-opened order's first response is due under its policy (None: no policy or target,
    or staff already answered): what the customer is promised."""
    policy = config.named(order.sla_policy)
    if policy is None or order.first_response_at is not None:
        return None
    status = next((st for st in evaluate(policy, SlaTimeline(opened_at=order.created_at), now)
                   if st.target == Target.FIRST_RESPONSE), None)
    if status is None or status.due_at is None:
        return None
    return max(1, math.ceil((status.due_at - now).total_seconds() / 60))


def _chain(session: Session, order: WorkOrder) -> dict[str, Staff | None]:
    """The order's people for notices: its agent, the team lead above them and the department head above
    that (the management chain), with the department's own team lead when the chain is missing."""
    agent = session.get(Staff, order.assignee_id) if order.assignee_id else None
    if agent is not None and agent.role in ("team_lead", "complaint_manager"):
        lead: Staff | None = agent
    else:
        lead = session.get(Staff, agent.manager_id) if agent is not None and agent.manager_id else None
    if lead is None:
        lead = session.scalar(select(Staff).where(Staff.department_id == order.department_id,
                                                  Staff.role == "team_lead", Staff.active.is_(True))
                              .order_by(Staff.id).limit(1))
    head = session.get(Staff, lead.manager_id) if lead is not None and lead.manager_id else None
    if head is None:
        head = session.scalar(select(Staff).where(Staff.role.in_(("complaint_manager", "admin")),
                                                  Staff.active.is_(True)).order_by(Staff.role.desc(), Staff.id)
                              .limit(1))
    return {"agent": agent, "team_lead": lead, "department_head": head}


def _mark(session: Session, order: WorkOrder, target: str, kind: str, staff: Staff | None, now: datetime
          ) -> SlaMark | None:
    """Record that this notice went out; None when another worker recorded it first. The caller holds the
    order's row lock, so a plain read finds an earlier mark without inserting against it: on PostgreSQL that
    insert would wait for a notice task still updating the mark, which itself waits for the order's lock."""
    if session.scalar(select(SlaMark.id).where(SlaMark.work_order_id == order.id, SlaMark.target == target,
                                               SlaMark.kind == kind)) is not None:
        return None
    mark = SlaMark(work_order_id=order.id, target=target, kind=kind, staff_id=staff.id if staff else None,
                   created_at=now)
    try:
        with session.begin_nested():
            session.add(mark)
    except IntegrityError:
        return None
    return mark


def check_order(session: Session, order_id: str, config: SlaConfig, flows: object, now: datetime
                ) -> list[NewMark]:
    """Evaluate one order's SLA at `now` and act on what is new. Idempotent: run it twice, or in two workers
    at once, and each warning, breach and escalation happens once."""
    from caredesk.workorders.actions import append_event

    order = session.scalar(select(WorkOrder).where(WorkOrder.id == order_id).with_for_update())
    if order is None or order.sla_policy is None:
        return []
    policy = config.named(order.sla_policy)
    if policy is None or order.status_category not in ("open", "paused"):
        order.sla_next_check_at = None
        return []
    statuses = evaluate(policy, timeline_of(session, order), now)
    people = _chain(session, order)
    made: list[NewMark] = []

    def notify(target: str, kind: str, who: Staff | None, title: str) -> None:
        mark = _mark(session, order, target, kind, who, now)
        if mark is None:
            return
        session.flush()
        if who is not None:
            session.add(Notification(staff_id=who.id, kind=f"sla_{kind.split('-')[0]}", title=title[:300],
                                     body=order.title[:2000], link=f"/work-orders/{order.id}", created_at=now))
        append_event(session, order, f"sla_{kind.split('-')[0]}", actor="sla", now=now,
                     data={"target": target, "kind": kind, "policy": policy.name,
                           "notified": who.id if who else None})
        made.append(NewMark(mark.id, order.id, target, kind, who.id if who else None))

    for st in statuses:
        target = st.target.value
        if st.target.value == "next_response" and order.awaiting_reply_since:  # each wait is its own clock
            target = f"next_response:{order.awaiting_reply_since:%Y%m%dT%H%M}"
        if st.state in (SlaState.WARNING, SlaState.BREACHED):
            notify(target, "warning", people["agent"] or people["team_lead"],
                   f"SLA warning: {target} of {order.id} is {st.share_used:.0%} used")
        if st.state == SlaState.BREACHED:
            notify(target, "breach", people["agent"] or people["team_lead"],
                   f"SLA breached: {target} of {order.id}")
            for level, step in enumerate(policy.escalation, start=1):
                if st.overdue_minutes < step.after_minutes:
                    break
                who = people.get(step.notify)
                notify(target, f"escalation-{level}", who,
                       f"SLA escalation {level}: {target} of {order.id} is overdue")
                if level > order.escalation_level:
                    order.escalation_level = level
                    if step.reassign and who is not None and order.assignee_id != who.id:
                        previous = order.assignee_id
                        order.assignee_id, order.assigned_at, order.queued_at = who.id, now, None
                        append_event(session, order, "reassigned", actor="sla", now=now,
                                     data={"from": previous, "to": who.id, "reason": f"SLA escalation {level}"})
    order.sla_next_check_at = next_check_at(policy, statuses)
    return made
