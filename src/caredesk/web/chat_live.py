"""The customer chat's live stream written as server-sent events: each message delivered to the chat is an
event whose id is the message id (time-ordered, so `Last-Event-ID` is where a reconnect resumes); the order's
state and the agent's typing carry no id (not replayed: the state is sent again on every connect)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from caredesk.channels.livechat.state import ChatMessage, ChatState
from caredesk.channels.livechat.stream import KeepAlive, StreamItem, Typing, Viewing
from caredesk.web.i18n import Translator
from caredesk.web.rendering import template_module

__all__ = ["chat_macros", "sse_frames"]


def chat_macros(t: Translator) -> Any:
    """The chat's bubble macros (_chat.html) in the customer's page language."""
    return template_module("_chat.html", {"t": t})


async def sse_frames(items: AsyncIterator[StreamItem], t: Translator, *, retry_ms: int) -> AsyncIterator[str]:
    macros = chat_macros(t)
    yield f"retry: {retry_ms}\n: connected\n\n"
    last_id = ""
    async for item in items:
        if isinstance(item, ChatMessage):
            last_id = max(last_id, item.id)  # never backwards: a reconnect resumes after everything sent
            message = {"id": item.id, "html": str(macros.delivered(item.id, item.author, item.text)).strip()}
            yield f"id: {last_id}\nevent: message\ndata: {json.dumps(message, ensure_ascii=False)}\n\n"
        elif isinstance(item, ChatState):
            state: dict[str, object] = {
                "status": item.status, "case_number": item.case_number, "position": item.position,
                "html": str(macros.status(item)).strip(), "note": str(macros.status_note(item)).strip()}
            yield f"event: state\ndata: {json.dumps(state, ensure_ascii=False)}\n\n"
        elif isinstance(item, Typing):
            yield "event: typing\ndata: {}\n\n"
        elif isinstance(item, Viewing):
            viewing = {"html": str(macros.viewing_note()).strip()}
            yield f"event: viewing\ndata: {json.dumps(viewing, ensure_ascii=False)}\n\n"
        elif isinstance(item, KeepAlive):
            yield ": keep-alive\n\n"
