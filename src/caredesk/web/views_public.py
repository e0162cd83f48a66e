"""Pages without a staff login: the customer chat and the join link that meeting notices e-mail."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from caredesk.bootstrap.runtime import Runtime
from caredesk.channels.livechat.sender import chat_bus
from caredesk.channels.livechat.state import ChatState, chat_state, own_conversation
from caredesk.channels.livechat.stream import chat_stream
from caredesk.emergency.actions import do_record_join
from caredesk.errors import CareDeskError, InvalidInput, NotFound
from caredesk.http.deps import RuntimeDep, SessionDep
from caredesk.ids import is_id
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.web import queries
from caredesk.web.chat_live import sse_frames
from caredesk.web.i18n import LANGUAGES, Translator
from caredesk.web.rendering import WebRoute, render, ui_language

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)

REF_KEY = "chat_customer_ref"
CONVERSATION_KEY = "chat_conversation_id"
_ERROR_TARGET = {"HX-Retarget": "#chat-error", "HX-Reswap": "innerHTML"}


def _customer_ref(request: Request) -> str:
    """A reference for this browser session's customer: no name, no login, just continuity."""
    ref = request.session.get(REF_KEY)
    if not ref:
        ref = request.session[REF_KEY] = f"webchat-{secrets.token_hex(8)}"
    return str(ref)


@router.get("/chat", response_class=HTMLResponse)
def chat_page(request: Request, session: SessionDep) -> HTMLResponse:
    remembered = request.session.get(CONVERSATION_KEY)
    history = queries.chat_history(session, remembered, request.session.get(REF_KEY))
    options = queries.pending_options(session, remembered, history)
    state = chat_state(session, remembered) if history and remembered else ChatState()
    return render(request, "chat.html", {"history": history, "options": options, "state": state})


def _own_conversation(rt: Runtime, request: Request) -> str | None:
    """The conversation in this browser's session, if it is still this customer's (never another's)."""
    remembered, ref = request.session.get(CONVERSATION_KEY), request.session.get(REF_KEY)
    with rt.session_factory() as session:  # not held open for the life of the stream
        return own_conversation(session, remembered, ref)


@router.get("/chat/events")
async def chat_events(request: Request, rt: RuntimeDep) -> Response:
    """The open chat's live events (agent replies, the order's state, typing). A reconnect resumes after
    `Last-Event-ID` (the browser sends it); the page's first connect says where its log ends (`?after=`)."""
    conversation_id = await run_in_threadpool(_own_conversation, rt, request)
    bus = chat_bus(rt.channels)
    if conversation_id is None or bus is None:
        return Response(status_code=204)  # nothing to follow yet: EventSource stops; the page opens it later
    after = request.headers.get("last-event-id") or request.query_params.get("after") or None
    if after is not None and not is_id(after):
        raise InvalidInput("after must be a message id", field="after")
    settings = rt.settings
    items = chat_stream(bus, rt.session_factory, conversation_id, after, is_disconnected=request.is_disconnected,
                        lifetime=settings.livechat_stream_seconds, keepalive=settings.livechat_keepalive_seconds,
                        state_every=settings.livechat_state_seconds)
    return StreamingResponse(sse_frames(items, Translator(ui_language(request)), retry_ms=settings.livechat_retry_ms),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _receive(rt: Runtime, text: str, ref: str, conversation_id: str | None) -> tuple[IntakeOutcome, bool]:
    """The intake; when the remembered conversation is gone, the message starts a new one (returns True)."""
    try:
        return do_receive_message(rt, IncomingMessage(text, "chat", ref, conversation_id)), False
    except NotFound:
        if conversation_id is None:
            raise
        return do_receive_message(rt, IncomingMessage(text, "chat", ref, None)), True


@router.post("/chat/messages", response_class=HTMLResponse)
async def chat_message(request: Request, rt: RuntimeDep, text: Annotated[str, Form()] = "") -> HTMLResponse:
    ref, remembered = _customer_ref(request), request.session.get(CONVERSATION_KEY)
    try:
        outcome, restarted = await run_in_threadpool(_receive, rt, text, ref, remembered)
    except CareDeskError as exc:
        t = Translator(ui_language(request))
        message = t("chat.empty") if not text.strip() else t.error(exc)
        # 400s are shown in place (htmx-config in base.html); anything else gets the page's generic notice
        return render(request, "_chat_error.html", {"message": message}, status=exc.status,
                      headers=_ERROR_TARGET)
    request.session[CONVERSATION_KEY] = outcome.conversation_id
    reply_language = outcome.doc.language if outcome.doc.language in LANGUAGES else ui_language(request)
    context = {
        "text": outcome.doc.display or outcome.doc.masked, "kind": outcome.decision.kind.value, "restarted": restarted,
        # the entry's answer, or the clarifying question with its numbered options
        "answer": outcome.reply_text if outcome.reply_message_id else None,
        "work_order_id": outcome.work_order_id, "rt": Translator(reply_language),
        "message_id": outcome.message_id, "reply_message_id": outcome.reply_message_id,
        "options": outcome.clarification,  # offered as buttons that send the option's number
    }
    return render(request, "_chat_exchange.html", context)


@router.get("/join/{token}")
def join(token: str, rt: RuntimeDep) -> RedirectResponse:
    with rt.uow() as uow:
        meeting = do_record_join(uow.session, token, now=rt.clock.now())
        room_url = meeting.room_url
        uow.commit()
    return RedirectResponse(room_url, status_code=303)
