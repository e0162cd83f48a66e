"""Work orders: list (cursor pages), detail with the event timeline, status transitions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from caredesk.api.deps import Caller, RuntimeDep, SessionDep, require
from caredesk.api.schemas import PageOut, TransitionIn, work_order_out
from caredesk.workorders.actions import do_transition, get_work_order, list_events, list_work_orders

router = APIRouter(tags=["work-orders"])


@router.get("/work-orders", response_model=PageOut)
def list_orders(session: SessionDep, _: Annotated[Caller, Depends(require("workorder.read"))],
                cursor: Annotated[str | None, Query(max_length=100)] = None,
                limit: Annotated[int, Query(ge=1, le=200)] = 50,
                status_category: Literal["open", "paused", "resolved", "closed"] | None = None) -> PageOut:
    page = list_work_orders(session, cursor=cursor, limit=limit, status_category=status_category)
    return PageOut(items=[work_order_out(o) for o in page.items], next_cursor=page.next_cursor)


@router.get("/work-orders/{order_id}")
def get_order(order_id: str, session: SessionDep, _: Annotated[Caller, Depends(require("workorder.read"))]
              ) -> dict[str, Any]:
    return work_order_out(get_work_order(session, order_id), list_events(session, order_id))


@router.post("/work-orders/{order_id}/transitions")
def transition_order(order_id: str, body: TransitionIn, rt: RuntimeDep,
                     caller: Annotated[Caller, Depends(require("workorder.change"))]) -> dict[str, Any]:
    order = do_transition(rt.uow(), order_id, body.status, actor=caller.actor, now=rt.clock.now(), note=body.note)
    return work_order_out(order)
