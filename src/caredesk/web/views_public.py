"""Pages without a staff login: the customer chat and the join link that meeting notices e-mail."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from caredesk.emergency.actions import do_record_join
from caredesk.errors import CareDeskError, NotFound
from caredesk.http.deps import RuntimeDep, SessionDep
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.runtime import Runtime
from caredesk.web import queries
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
    return render(request, "chat.html", {"history": history, "options": options})


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
