"""Read models for the work-order API and workbench: one order's detail (the order, its timeline and SLA
standing), SLA standing of an order, the supervisor's board of breaches and warnings, waiting queues,
callbacks, macros."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.sla.policy import SlaConfig, SlaStatus, evaluate
from caredesk.sla.tracking import timeline_of
from caredesk.storage.orm import CallbackTask, EmergencyMeeting, Macro, SlaMark, WorkOrder, WorkOrderEvent
from caredesk.workorders.actions import get_work_order, list_events
from caredesk.workorders.case_numbers import is_case_number

__all__ = ["BoardRow", "OrderDetail", "callbacks", "emergency_meeting_of", "macros", "order_detail", "order_id_of",
           "sla_board", "sla_status"]


def order_id_of(session: Session, reference: str) -> str:
    """The order's id for an id or a case number (C20261206-0042, as the customer quotes it). An unknown case
    number comes back unchanged, so the lookup that follows answers 404 as for any unknown id."""
    if not is_case_number(reference):
        return reference
    return session.scalar(select(WorkOrder.id).where(WorkOrder.case_number == reference)) or reference


def emergency_meeting_of(session: Session, order_id: str) -> EmergencyMeeting | None:
    """The emergency meeting this order tracks to closure, if any (newest first)."""
    return session.scalar(select(EmergencyMeeting).where(EmergencyMeeting.work_order_id == order_id)
                          .order_by(EmergencyMeeting.created_at.desc()).limit(1))


def sla_status(session: Session, order: WorkOrder, config: SlaConfig, now: datetime) -> list[SlaStatus]:
    policy = config.named(order.sla_policy)
    return evaluate(policy, timeline_of(session, order), now) if policy else []


@dataclass(frozen=True)
class OrderDetail:
    """One work order as its detail shows it (the API's detail and the workbench's order page): the order,
    its event log in order, and where each target of its SLA policy stands now."""

    order: WorkOrder
    events: list[WorkOrderEvent]
    sla: list[SlaStatus]


def order_detail(session: Session, order_id: str, config: SlaConfig, now: datetime,
                 order: WorkOrder | None = None) -> OrderDetail:
    """The order (NotFound when there is none; the caller has checked the viewer may see it). `order`: the
    row the scope check has just loaded in this session, not read a second time."""
    order = order if order is not None and order.id == order_id else get_work_order(session, order_id)
    return OrderDetail(order, list_events(session, order_id), sla_status(session, order, config, now))


@dataclass(frozen=True)
class BoardRow:
    order: WorkOrder
    worst: str  # breach | warning
    kinds: tuple[str, ...]
    last_at: datetime


def sla_board(session: Session, *, limit: int = 200) -> list[BoardRow]:
    """Open orders with an SLA warning or breach on record, breaches first, then by latest notice."""
    rows = session.execute(
        select(SlaMark.work_order_id, func.max(SlaMark.created_at), func.count())
        .join(WorkOrder, WorkOrder.id == SlaMark.work_order_id)
        .where(WorkOrder.status_category.in_(("open", "paused")))
        .group_by(SlaMark.work_order_id).order_by(func.max(SlaMark.created_at).desc()).limit(limit)).all()
    out: list[BoardRow] = []
    for order_id, last_at, _ in rows:
        order = session.get(WorkOrder, order_id)
        kinds = tuple(sorted(set(session.scalars(select(SlaMark.kind).where(SlaMark.work_order_id == order_id)))))
        if order is not None:
            worst = "breach" if any(k != "warning" for k in kinds) else "warning"
            out.append(BoardRow(order, worst, kinds, last_at))
    return sorted(out, key=lambda r: (r.worst != "breach", -r.last_at.timestamp()))


def callbacks(session: Session, *, status: str | None = "open", limit: int = 200) -> list[CallbackTask]:
    stmt = select(CallbackTask).order_by(CallbackTask.due_at).limit(limit)
    if status:
        stmt = stmt.where(CallbackTask.status == status)
    return list(session.scalars(stmt))


def macros(session: Session) -> list[Macro]:
    return list(session.scalars(select(Macro).order_by(Macro.code)))
