"""Knowledge at hand on the conversation and work-order pages: the suggestions panel (loaded by htmx after the
page, so the page never waits on the meaning search), the record of which entry an agent inserted, and the
work order a reply from the conversation page goes through."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from caredesk.accounts.access import conversation_for, work_order_for
from caredesk.accounts.roles import can
from caredesk.bootstrap.runtime import Runtime
from caredesk.errors import NotFound
from caredesk.http.deps import Caller, RuntimeDep, SessionDep
from caredesk.knowledge.at_hand import Suggestion, Topic, suggest
from caredesk.storage.orm import Staff, WorkOrder
from caredesk.web import queries
from caredesk.web.i18n import N_
from caredesk.web.knowledge_queries import web_actor
from caredesk.web.rendering import WebRoute, render, staff_who_may_see
from caredesk.workorders.actions import get_work_order
from caredesk.workorders.knowledge_use import do_record_knowledge_use

__all__ = ["reply_target", "router"]

router = APIRouter(route_class=WebRoute)
ConversationReader = Annotated[Staff, staff_who_may_see("conversation.read", conversation_for, "conversation_id")]
OrderReader = Annotated[Staff, staff_who_may_see("workorder.read", work_order_for, "order_id")]
OrderChanger = Annotated[Staff, staff_who_may_see("workorder.change", work_order_for, "order_id")]
SOURCES = ("conversation", "work_order")


def reply_target(session: Session, staff: Staff, conversation_id: str) -> WorkOrder | None:
    """The open work order a reply from the conversation page goes through, when this person may change it."""
    order = queries.reply_order(session, conversation_id)
    if order is None or not can(staff.role, "workorder.change"):
        return None
    try:
        work_order_for(session, Caller.of_staff(staff), order.id)
    except NotFound:
        return None
    return order


def _suggestions(rt: Runtime, text: str, case: Topic | None) -> list[Suggestion]:
    return suggest(rt.knowledge_index(), text, case)


def _topic(content_type: str | None, problem_type: str | None) -> Topic | None:
    return Topic(content_type, problem_type) if content_type and problem_type else None


@router.get("/workbench/conversations/{conversation_id}/knowledge", response_class=HTMLResponse)
async def conversation_knowledge(conversation_id: str, request: Request, rt: RuntimeDep, session: SessionDep,
                                 staff: ConversationReader) -> HTMLResponse:
    case = queries.recent_customer_text(session, conversation_id)
    order = reply_target(session, staff, conversation_id)
    found = await run_in_threadpool(_suggestions, rt, case.text, _topic(case.content_type, case.problem_type))
    context = {"suggestions": found, "order_id": order.id if order else None, "source": "conversation",
               "target": "conv-reply-input", "hint": N_("kb_hand.hint")}
    return render(request, "_kb_at_hand.html", context, staff=staff)


@router.get("/workbench/work-orders/{order_id}/knowledge", response_class=HTMLResponse)
async def order_knowledge(order_id: str, request: Request, rt: RuntimeDep, session: SessionDep,
                          staff: OrderReader) -> HTMLResponse:
    order = get_work_order(session, order_id)
    may_insert = can(staff.role, "workorder.change") and order.status_category in ("open", "paused")
    text = f"{order.title} {order.description}".strip()
    found = await run_in_threadpool(_suggestions, rt, text, _topic(order.content_type, order.problem_type))
    context = {"suggestions": found, "order_id": order.id if may_insert else None, "source": "work_order",
               "target": "wo-reply-input", "hint": N_("kb_hand.hint_order")}
    return render(request, "_kb_at_hand.html", context, staff=staff)


@router.post("/workbench/work-orders/{order_id}/knowledge-inserted", status_code=204)
def knowledge_inserted(order_id: str, rt: RuntimeDep, staff: OrderChanger,
                       entry: Annotated[str, Form(max_length=64)] = "",
                       version: Annotated[int, Form(ge=1, le=1_000_000)] = 1,
                       source: Annotated[str, Form(max_length=16)] = "work_order") -> Response:
    """Which entry the agent put into the reply box (the timeline keeps it for later learning)."""
    do_record_knowledge_use(rt.uow(), order_id, entry_id=entry, version=version, actor=web_actor(staff),
                            source=source if source in SOURCES else "work_order", now=rt.clock.now())
    return Response(status_code=204)
