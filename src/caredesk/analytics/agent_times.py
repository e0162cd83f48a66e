"""The work-order log read for the team's time figures: who gave each order's first response (per-agent
first-response time) and the agents' actions (the measured handling time the staffing plan uses). The
definitions are in analytics/metrics.py; this only reads."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.analytics.metrics import AgentAction, AnsweredOrder, HandlingTime, handling_time
from caredesk.storage.orm import WorkOrder, WorkOrderEvent

__all__ = ["ACTIONS_LIMIT", "HANDLING_LOOKBACK", "agent_actions", "answered_orders", "measured_handling_time"]

ANSWERS = ("reply", "status_changed")  # a reply, or a resolution sent to the customer (do_resolve)
STAFF = "staff:"
HANDLING_LOOKBACK = timedelta(days=14)  # the handling time of the last two weeks plans the next two
ACTIONS_LIMIT = 50_000  # the newest actions are plenty for a mean; bounds the read on a large centre


def _staff_id(actor: str) -> str | None:
    return actor[len(STAFF):] if actor.startswith(STAFF) else None


def answered_orders(session: Session, start: datetime, end: datetime) -> list[AnsweredOrder]:
    """Orders opened in [start, end) that have a first response, with the staff member whose reply or
    resolution (the log entry written at `first_response_at`) gave it; merged-away orders left out."""
    rows = session.execute(
        select(WorkOrder.id, WorkOrder.created_at, WorkOrder.first_response_at, WorkOrderEvent.actor,
               WorkOrderEvent.seq)
        .join(WorkOrderEvent, (WorkOrderEvent.work_order_id == WorkOrder.id)
              & (WorkOrderEvent.created_at == WorkOrder.first_response_at) & WorkOrderEvent.kind.in_(ANSWERS))
        .where(WorkOrder.created_at >= start, WorkOrder.created_at < end, WorkOrder.first_response_at.is_not(None),
               WorkOrder.merged_into_id.is_(None))
        .order_by(WorkOrder.id, WorkOrderEvent.seq))
    out: dict[str, AnsweredOrder] = {}
    for order_id, opened, first, actor, _seq in rows:
        if order_id not in out or (out[order_id].responder is None and _staff_id(actor)):
            out[order_id] = AnsweredOrder(opened, first, _staff_id(actor))
    return list(out.values())


def agent_actions(session: Session, start: datetime, end: datetime, limit: int = ACTIONS_LIMIT
                  ) -> list[AgentAction]:
    """The staff's log entries in [start, end), the newest `limit`; an answer is a reply or a change to
    resolved."""
    rows = session.execute(
        select(WorkOrderEvent.actor, WorkOrderEvent.created_at, WorkOrderEvent.kind, WorkOrderEvent.data)
        .where(WorkOrderEvent.created_at >= start, WorkOrderEvent.created_at < end,
               WorkOrderEvent.actor.startswith(STAFF))
        .order_by(WorkOrderEvent.created_at.desc()).limit(limit))
    return [AgentAction(actor, at, kind == "reply" or (kind == "status_changed" and (data or {}).get("to")
                                                       == "resolved"))
            for actor, at, kind, data in rows]


def measured_handling_time(session: Session, now: datetime) -> HandlingTime:
    """The average handling time of the last `HANDLING_LOOKBACK`."""
    return handling_time(agent_actions(session, now - HANDLING_LOOKBACK, now))
