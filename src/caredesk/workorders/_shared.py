"""The steps that the work-order actions (transfers, replies, closure, relations) share inside their own
transaction: taking an active order for a change, and giving the capacity an order held back to the waiting
queue it leaves. (A change is announced to the workbench by recording `WorkOrderChanged`.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from caredesk.errors import Conflict
from caredesk.storage.orm import WorkOrder
from caredesk.workorders.actions import get_work_order
from caredesk.workorders.assignment import ACTIVE, drain_waiting
from caredesk.workorders.deps import WorkOrderDeps

__all__ = ["free_capacity", "open_order"]


def open_order(session: Any, order_id: str) -> WorkOrder:
    """The order, locked for the change; an order that is resolved or closed must be reopened first."""
    order = get_work_order(session, order_id, for_update=True)
    if order.status_category not in ACTIVE:
        raise Conflict(f"work order {order_id} is {order.status}; reopen it first", status=order.status)
    return order


def free_capacity(rt: WorkOrderDeps, session: Any, order: WorkOrder, now: datetime) -> None:
    """The order no longer holds an agent's slot: the waiting orders of its group and department move up."""
    drain_waiting(session, rt.flows, skill_group_ids=[order.skill_group_id], department_ids=[order.department_id],
                  now=now)
