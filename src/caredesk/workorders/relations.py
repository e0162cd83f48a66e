"""How work orders relate: linking two related orders, merging a duplicate into another, and splitting one
problem out of an order into a new one. Links are kept in both directions; each `do_*` owns its transaction
and writes an event on every order it touches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from caredesk.errors import InvalidInput
from caredesk.storage.orm import WorkOrder, WorkOrderLink
from caredesk.workorders._shared import free_capacity, open_order
from caredesk.workorders.actions import append_event, get_work_order, transition
from caredesk.workorders.assignment import route
from caredesk.workorders.case_numbers import allocate_case_number
from caredesk.workorders.deps import WorkOrderDeps
from caredesk.workorders.model import Status

__all__ = ["do_link", "do_merge", "do_split"]


def _link(s: Any, a: WorkOrder, b: WorkOrder, kind: str, back: str, now: datetime) -> None:
    for src, dst, k in ((a, b, kind), (b, a, back)):
        exists = s.scalar(select(WorkOrderLink.id).where(WorkOrderLink.work_order_id == src.id,
                                                         WorkOrderLink.other_id == dst.id, WorkOrderLink.kind == k))
        if exists is None:
            s.add(WorkOrderLink(work_order_id=src.id, other_id=dst.id, kind=k, created_at=now))


def do_link(rt: WorkOrderDeps, order_id: str, other_id: str, *, actor: str, now: datetime) -> None:
    if order_id == other_id:
        raise InvalidInput("an order cannot be linked to itself", field="other_id")
    with rt.uow() as uow:
        s = uow.session
        a, b = get_work_order(s, order_id, for_update=True), get_work_order(s, other_id, for_update=True)
        _link(s, a, b, "related", "related", now)
        append_event(s, a, "linked", actor=actor, now=now, data={"other_id": b.id})
        append_event(s, b, "linked", actor=actor, now=now, data={"other_id": a.id})
        uow.commit()


def do_merge(rt: WorkOrderDeps, source_id: str, target_id: str, *, actor: str, now: datetime) -> WorkOrder:
    """Fold a duplicate into another order: the source closes, pointing at the target; both keep their logs."""
    if source_id == target_id:
        raise InvalidInput("an order cannot be merged into itself", field="target_id")
    with rt.uow() as uow:
        s = uow.session
        source, target = open_order(s, source_id), open_order(s, target_id)
        _link(s, source, target, "merged_into", "merged_from", now)
        source.merged_into_id = target.id
        append_event(s, target, "merged", actor=actor, now=now, data={"from": source.id},
                     note=source.description[:2000])
        transition(s, source_id, Status.CLOSED.value, actor=actor, now=now, note=f"merged into {target.id}",
                   data={"note_code": "merged_into", "note_params": {"target": target.id}})
        free_capacity(rt, s, source, now)
        uow.commit()
    return target


def do_split(rt: WorkOrderDeps, order_id: str, *, title: str, description: str, actor: str, now: datetime
             ) -> WorkOrder:
    """Take one problem out of an order into a new order of the same customer, routed on its own."""
    if not title.strip():
        raise InvalidInput("the new order needs a title", field="title")
    with rt.uow() as uow:
        s = uow.session
        parent = open_order(s, order_id)
        child = WorkOrder(case_number=allocate_case_number(s, now=now, zone=rt.case_zone),
                          conversation_id=parent.conversation_id, customer_id=parent.customer_id,
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
