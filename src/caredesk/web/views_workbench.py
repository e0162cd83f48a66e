"""The agent workbench: the live queue (full page or htmx fragment), its server-sent events, and the
conversation and meeting pages (the work-order pages are in views_workorders.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from caredesk.accounts.access import conversation_for, meeting_for
from caredesk.accounts.roles import can
from caredesk.bootstrap.runtime import Runtime
from caredesk.channels.livechat.sender import chat_bus
from caredesk.channels.livechat.state import CHAT
from caredesk.errors import CareDeskError, NotFound
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, audit_read, note_record_read
from caredesk.notify.live import LiveBus
from caredesk.storage.orm import Staff, WorkOrder
from caredesk.web import queries
from caredesk.web.knowledge_queries import web_actor
from caredesk.web.rendering import (
    LoginRequired,
    WebRoute,
    current_staff,
    is_htmx,
    refusal,
    render,
    staff_who_may,
)
from caredesk.web.views_at_hand import reply_target
from caredesk.web.views_corrections import triage_panels
from caredesk.workorders.replies import do_reply

__all__ = ["live_events", "router"]

router = APIRouter(route_class=WebRoute)

KEEPALIVE_SECONDS = 15.0
STREAM_SECONDS = 300.0  # then the browser reconnects: a server restart never waits long on an open stream
_EVENT_FIELDS = ("type", "conversation_id", "message_id", "decision", "urgency", "alarm_id", "change", "meeting_id")
ConversationReader = Annotated[Staff, staff_who_may("conversation.read")]


@router.get("/workbench", response_class=HTMLResponse)
def workbench(request: Request, rt: RuntimeDep, session: SessionDep, staff: ConversationReader) -> HTMLResponse:
    rows = queries.queue(session, Caller.of_staff(staff), now=rt.clock.now())
    if is_htmx(request):
        return render(request, "_queue.html", {"rows": rows}, staff=staff, headers={"Vary": "HX-Request"})
    context = {"rows": rows, "invitations": queries.pending_invitations(session, staff.id)}
    return render(request, "workbench.html", context, staff=staff, headers={"Vary": "HX-Request"})


async def live_events(request: Request, bus: LiveBus, *, keepalive: float = KEEPALIVE_SECONDS,
                      lifetime: float = STREAM_SECONDS) -> AsyncIterator[str]:
    """Server-sent events from the live bus until the browser goes away; a comment line keeps proxies open."""
    handle = bus.subscribe()
    _, inbox = handle
    started = last_sent = time.monotonic()
    try:
        yield "retry: 3000\n: connected\n\n"
        while time.monotonic() - started < lifetime:
            try:
                event = await asyncio.wait_for(inbox.get(), timeout=1.0)
            except TimeoutError:
                if await request.is_disconnected():
                    break
                if time.monotonic() - last_sent >= keepalive:
                    last_sent = time.monotonic()
                    yield ": keep-alive\n\n"
                continue
            data = {k: event[k] for k in _EVENT_FIELDS if k in event}  # ids and labels only, never text
            last_sent = time.monotonic()
            yield f"data: {json.dumps(data)}\n\n"
    finally:
        bus.unsubscribe(handle)


def _signed_in_briefly(request: Request, rt: Runtime) -> bool:
    with rt.session_factory() as session:  # not held open for the life of the stream
        return current_staff(request, session) is not None


@router.get("/workbench/events")
async def workbench_events(request: Request, rt: RuntimeDep) -> StreamingResponse:
    if not await run_in_threadpool(_signed_in_briefly, request, rt):
        raise LoginRequired()
    return StreamingResponse(live_events(request, rt.live), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _conversation_context(rt: Runtime, session: Session, staff: Staff, conversation_id: str) -> dict[str, Any]:
    """Scoped like the API (404 outside the staff member's branch), counted and audited as a record read."""
    caller = Caller.of_staff(staff)
    note_record_read(rt, caller)
    view = queries.conversation_view(session, caller, conversation_id)
    audit_read(rt, caller, "conversation", conversation_id, via="web")
    panels = triage_panels(session, view.messages)
    order = reply_target(session, staff, conversation_id)
    return {"view": view, "panels": panels, "can_correct": can(staff.role, "triage.correct"),
            "reply_order": order, "reply_error": None, "reply_text": "", "sent": False}


@router.get("/workbench/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation_page(conversation_id: str, request: Request, rt: RuntimeDep, session: SessionDep,
                      staff: ConversationReader) -> HTMLResponse:
    context = _conversation_context(rt, session, staff, conversation_id)
    context["sent"] = request.query_params.get("sent") == "1"
    return render(request, "conversation.html", context, staff=staff)


@router.post("/workbench/conversations/{conversation_id}/reply", response_class=HTMLResponse)
def conversation_reply(conversation_id: str, request: Request, rt: RuntimeDep, session: SessionDep,
                       staff: ConversationReader, text: Annotated[str, Form(max_length=20_000)] = ""
                       ) -> Response:
    """Answer the customer from the conversation page, through its open work order (its SLA clocks, its
    timeline, the customer's channel); back to the page after, or the refusal on the page with the text kept."""
    conversation_for(session, Caller.of_staff(staff), conversation_id)
    order = reply_target(session, staff, conversation_id)
    if order is None:
        raise NotFound("no open work order to reply through", conversation_id=conversation_id)
    order_id = order.id
    session.rollback()  # the action takes its own transaction and the order's row lock
    try:
        do_reply(rt, order_id, text=text, actor=web_actor(staff), now=rt.clock.now())
    except CareDeskError as exc:
        context = _conversation_context(rt, session, staff, conversation_id)
        context |= {"reply_error": refusal(request, exc), "reply_text": text}
        return render(request, "conversation.html", context, staff=staff, status=400,
                      headers={"X-CareDesk-Error": exc.code})
    return RedirectResponse(f"/workbench/conversations/{conversation_id}?sent=1", status_code=303)


@router.get("/workbench/conversations/{conversation_id}/transcript", response_class=HTMLResponse)
def conversation_transcript(conversation_id: str, request: Request, rt: RuntimeDep, session: SessionDep,
                            staff: ConversationReader) -> HTMLResponse:
    """The conversation so far, on the work-order page (a hand-off's agent reads what the bot was told)."""
    caller = Caller.of_staff(staff)
    conversation_for(session, caller, conversation_id)
    note_record_read(rt, caller)
    messages = queries.transcript(session, conversation_id)
    audit_read(rt, caller, "conversation", conversation_id, via="web")
    return render(request, "_transcript.html", {"messages": messages, "conversation_id": conversation_id},
                  staff=staff)


@router.post("/workbench/conversations/{conversation_id}/typing", status_code=204)
def conversation_typing(conversation_id: str, rt: RuntimeDep, session: SessionDep, staff: ConversationReader
                        ) -> Response:
    """The agent is typing in a reply box: the customer's open chat shows it (throttled by the bus)."""
    conversation = conversation_for(session, Caller.of_staff(staff), conversation_id)
    bus = chat_bus(rt.channels)
    if bus is not None and conversation.channel == CHAT:
        with contextlib.suppress(OSError):  # a courtesy, not a message: never an error page for it
            bus.publish_typing(conversation_id)
    return Response(status_code=204)


@router.get("/workbench/invitations", response_class=HTMLResponse)
def invitations(request: Request, session: SessionDep, staff: Annotated[Staff, staff_who_may("meeting.read")]
                ) -> HTMLResponse:
    """This person's emergency meeting invitations not yet answered (the workbench refreshes it live)."""
    return render(request, "_invitations.html", {"invitations": queries.pending_invitations(session, staff.id)},
                  staff=staff)


@router.get("/workbench/meetings/{meeting_id}", response_class=HTMLResponse)
def meeting_page(meeting_id: str, request: Request, session: SessionDep,
                 staff: Annotated[Staff, staff_who_may("meeting.read")]) -> HTMLResponse:
    meeting = meeting_for(session, Caller.of_staff(staff), meeting_id)
    mine = next((p for p in meeting.participants if p.staff_id == staff.id), None)
    people = queries.staff_by_id(session, [p.staff_id for p in meeting.participants])
    context: dict[str, Any] = {
        "meeting": meeting, "people": people,
        "my_join": f"/join/{mine.join_token}" if mine else None,
        "order": session.get(WorkOrder, meeting.work_order_id) if meeting.work_order_id else None,
    }
    return render(request, "meeting.html", context, staff=staff)
