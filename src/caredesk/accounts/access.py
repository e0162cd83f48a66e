"""Who may see which records, one function per aggregate, used by every route that reads or changes one.

Work orders: staff of a department see its orders and their own; team leads also the departments below
theirs; complaint managers, administrators and auditors see all. Integration API keys act for the bank
(unscoped). A record outside the caller's scope is "not found": its existence is not revealed."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from caredesk.errors import NotFound
from caredesk.storage.orm import Department, Staff, WorkOrder

__all__ = ["UNSCOPED_ROLES", "visible_departments", "work_order_filter", "work_order_for"]

UNSCOPED_ROLES = frozenset({"complaint_manager", "admin", "auditor"})


def visible_departments(session: Session, staff: Staff) -> set[str]:
    """The staff member's department and, for team leads, every department below it."""
    if staff.department_id is None:
        return set()
    seen = {staff.department_id}
    if staff.role == "team_lead":
        frontier = [staff.department_id]
        while frontier:
            children = set(session.scalars(select(Department.id).where(Department.parent_id.in_(frontier)))) - seen
            seen |= children
            frontier = list(children)
    return seen


def work_order_filter(session: Session, caller_kind: str, caller_id: str, role: str) -> ColumnElement[bool]:
    if caller_kind != "staff" or role in UNSCOPED_ROLES:
        return true()
    staff = session.get(Staff, caller_id)
    if staff is None:
        return WorkOrder.id.is_(None)
    return or_(WorkOrder.department_id.in_(visible_departments(session, staff)), WorkOrder.assignee_id == staff.id)


def work_order_for(session: Session, caller_kind: str, caller_id: str, role: str, order_id: str) -> WorkOrder:
    order = session.scalar(select(WorkOrder).where(WorkOrder.id == order_id,
                                                   work_order_filter(session, caller_kind, caller_id, role)))
    if order is None:
        raise NotFound("work order not found", id=order_id)
    return order
