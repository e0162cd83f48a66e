"""The triage panel of a message on the conversation page: labels with their explanation, and the htmx
control by which an agent corrects a label (the panel comes back as a fragment, showing the correction)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from caredesk.accounts.access import message_for
from caredesk.errors import Conflict, InvalidInput, NotFound
from caredesk.http.deps import Caller, RuntimeDep, SessionDep
from caredesk.learning.correction_actions import do_correct_label, latest_corrections, model_label
from caredesk.learning.corrections import CORRECTABLE
from caredesk.learning.explain import Correction, HeadView, head_views
from caredesk.storage.orm import Message, Staff
from caredesk.web.rendering import WebRoute, refusal, render, staff_who_may

__all__ = ["router", "triage_panels"]

router = APIRouter(route_class=WebRoute)


def triage_panels(session: Session, messages: Sequence[Message]) -> dict[str, list[HeadView]]:
    """{message_id: head views} for the messages that have a triage, in one query for the corrections."""
    triaged = [m for m in messages if m.triage is not None]
    corrections = latest_corrections(session, [m.id for m in triaged])
    panels = {}
    for m in triaged:
        tr = m.triage
        assert tr is not None
        mine = {head: Correction(c.new_label, c.created_at, c.staff_id)
                for head, c in corrections.get(m.id, {}).items()}
        panels[m.id] = head_views(tr.explanation or {}, {h: model_label(tr, h) for h in CORRECTABLE}, mine)
    return panels


@router.post("/workbench/messages/{message_id}/corrections", response_class=HTMLResponse)
async def correct_label(message_id: str, request: Request, rt: RuntimeDep, session: SessionDep,
                        staff: Annotated[Staff, staff_who_may("triage.correct")],
                        head: Annotated[str, Form(max_length=32)] = "",
                        label: Annotated[str, Form(max_length=64)] = "") -> HTMLResponse:
    message = await run_in_threadpool(message_for, session, Caller.of_staff(staff), message_id)  # else 404
    error = ""
    try:
        await run_in_threadpool(do_correct_label, rt.uow(), message_id, head, label,
                                actor=f"staff:{staff.id}", staff_id=staff.id, now=rt.clock.now())
    except (InvalidInput, Conflict) as exc:  # shown in the panel; htmx swaps only 2xx answers
        error = refusal(request, exc)
    session.refresh(message)
    if message.triage is None:
        raise NotFound("message not found", id=message_id)
    panels = triage_panels(session, [message])
    context = {"m": message, "tr": message.triage, "panels": panels, "error": error, "can_correct": True}
    return render(request, "_triage_labels.html", context, staff=staff)
