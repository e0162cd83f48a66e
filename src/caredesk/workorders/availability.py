"""An agent's availability: leaving (away) and coming back, which gives the waiting orders of their skill
groups and department to whoever is now free."""

from __future__ import annotations

from datetime import datetime

from caredesk.errors import NotFound
from caredesk.storage.orm import Staff
from caredesk.workorders.assignment import drain_waiting
from caredesk.workorders.deps import WorkOrderDeps

__all__ = ["do_set_away"]


def do_set_away(rt: WorkOrderDeps, staff_id: str, *, away: bool, actor: str, now: datetime) -> list[str]:
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
