"""Who and where handles a work order: assigning it to an agent (or routing it again), transferring it to
another department with a reason, and moving it to the next step of its flow. Each `do_*` owns its
transaction; the workbench hears of the change after the commit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from caredesk.errors import Conflict, InvalidInput, NotFound
from caredesk.storage.orm import Department, Staff, WorkOrder
from caredesk.workorders._shared import open_order
from caredesk.workorders.actions import append_event
from caredesk.workorders.assignment import drain_waiting, route
from caredesk.workorders.deps import WorkOrderDeps
from caredesk.workorders.events import WorkOrderChanged

__all__ = ["do_advance_step", "do_assign", "do_transfer"]


def _hop(order: WorkOrder, now: datetime) -> dict[str, Any]:
    started = order.step_started_at or order.created_at
    return {"hop_started_at": started.isoformat(), "hop_minutes": round((now - started).total_seconds() / 60, 2)}


def _reroute(rt: WorkOrderDeps, session: Any, order: WorkOrder, department_id: str | None, *, actor: str,
             now: datetime) -> None:
    """Move the order to a department (its step's group chosen again), route it there, and give the
    capacity it held to the waiting queue it leaves."""
    old_group, old_department = order.skill_group_id, order.department_id
    order.department_id = department_id
    order.skill_group_id = order.assignee_id = order.assigned_at = order.queued_at = None
    route(session, order, rt.flows, now=now, actor=actor)
    drain_waiting(session, rt.flows, skill_group_ids=[old_group], department_ids=[old_department], now=now)


def do_assign(rt: WorkOrderDeps, order_id: str, *, staff_id: str | None, actor: str, now: datetime) -> WorkOrder:
    """Give the order to a named agent, or (staff_id None) route it again by its group's strategy."""
    with rt.uow() as uow:
        s = uow.session
        order = open_order(s, order_id)
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
        uow.record(WorkOrderChanged(order_id))
        uow.commit()
    return order


def do_transfer(rt: WorkOrderDeps, order_id: str, *, department: str, reason: str, actor: str, now: datetime
                ) -> WorkOrder:
    """Hand the order to another department with a reason; the hop just ended is timed on the event."""
    if not reason.strip():
        raise InvalidInput("a transfer needs a reason", field="reason")
    with rt.uow() as uow:
        s = uow.session
        order = open_order(s, order_id)
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
        uow.record(WorkOrderChanged(order_id))
        uow.commit()
    return order


def do_advance_step(rt: WorkOrderDeps, order_id: str, *, step: str, fields: dict[str, str], actor: str,
                    now: datetime) -> WorkOrder:
    """Move to a step the flow allows from here, once the fields the current step requires are filled."""
    with rt.uow() as uow:
        s = uow.session
        order = open_order(s, order_id)
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
            order.next_due_at = min(filter(None, [order.next_due_at, now + timedelta(minutes=nxt.timer_minutes)]))
        if (department is not None and department.id != order.department_id) or nxt.skill_group:
            _reroute(rt, s, order, department.id if department else order.department_id, actor=actor, now=now)
        uow.record(WorkOrderChanged(order_id))
        uow.commit()
    return order
