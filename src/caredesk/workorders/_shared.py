"""The steps that the work-order actions (transfers, replies, closure, relations) share inside their own
transaction: taking an active order for a change, announcing the change to the workbench after the
commit, and giving the capacity an order held back to the waiting queue it leaves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from caredesk.errors import Conflict
from caredesk.runtime import Runtime
from caredesk.storage.orm import WorkOrder
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.workorders.actions import get_work_order
from caredesk.workorders.assignment import ACTIVE, drain_waiting

__all__ = ["announce", "free_capacity", "open_order"]


def open_order(session: Any, order_id: str) -> WorkOrder:
    """The order, locked for the change; an order that is resolved or closed must be reopened first."""
    order = get_work_order(session, order_id, for_update=True)
    if order.status_category not in ACTIVE:
        raise Conflict(f"work order {order_id} is {order.status}; reopen it first", status=order.status)
    return order


def announce(rt: Runtime, uow: UnitOfWork, order_id: str) -> None:
    """The workbench refreshes the order once the change is committed."""
    uow.on_commit(lambda: rt.live.publish({"type": "work_order", "work_order_id": order_id}))


def free_capacity(rt: Runtime, session: Any, order: WorkOrder, now: datetime) -> None:
    """The order no longer holds an agent's slot: the waiting orders of its group and department move up."""
    drain_waiting(session, rt.flows, skill_group_ids=[order.skill_group_id], department_ids=[order.department_id],
                  now=now)
