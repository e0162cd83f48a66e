"""Suggested knowledge (clusters of questions the bot could not answer): list, generate, accept, dismiss."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from sqlalchemy import select

from caredesk.api.knowledge_schemas import AcceptSuggestionIn, DismissIn, knowledge_out, suggestion_out
from caredesk.api.query_params import Cursor
from caredesk.api.schemas import PageOut
from caredesk.errors import NotFound
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, require
from caredesk.knowledge.queries import get_entry
from caredesk.knowledge.suggestion_review import do_accept_suggestion, do_dismiss_suggestion
from caredesk.storage.orm import KnowledgeSuggestion
from caredesk.storage.pagination import paginate

router = APIRouter(tags=["knowledge"])
Reader = Annotated[Caller, Depends(require("knowledge.read"))]
Writer = Annotated[Caller, Depends(require("knowledge.write"))]


@router.get("/knowledge/suggestions", response_model=PageOut)
def list_suggestions(
    session: SessionDep,
    _: Reader,
    status: Annotated[Literal["open", "accepted", "dismissed"] | None, Query()] = "open",
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PageOut:
    stmt = select(KnowledgeSuggestion)
    if status:
        stmt = stmt.where(KnowledgeSuggestion.status == status)
    page = paginate(session, stmt, KnowledgeSuggestion.id, cursor, limit)
    return PageOut(items=[suggestion_out(s) for s in page.items], next_cursor=page.next_cursor)


@router.post("/knowledge/suggestions/generate")
def generate_suggestions_now(
    rt: RuntimeDep,
    caller: Writer,
    days: Annotated[int, Query(ge=1, le=90)] = 1,
    min_size: Annotated[int, Query(ge=1, le=1000)] = 3,
) -> dict[str, Any]:
    """Run the daily clustering now (idempotent)."""
    # imported here: the clustering's scikit-learn (~100 MB) loads only in a process that is asked to run it
    from caredesk.knowledge.tasks import generate_suggestions

    report = generate_suggestions(rt, days=days, min_size=min_size, actor=caller.actor)
    return {
        "questions": report.questions,
        "clusters": report.clusters,
        "created": report.created,
        "updated": report.updated,
    }


@router.get("/knowledge/suggestions/{suggestion_id}")
def read_suggestion(suggestion_id: str, session: SessionDep, _: Reader) -> dict[str, Any]:
    row = session.get(KnowledgeSuggestion, suggestion_id)
    if row is None:
        raise NotFound("suggestion not found", id=suggestion_id)
    return suggestion_out(row)


@router.post("/knowledge/suggestions/{suggestion_id}/accept")
def accept_suggestion(
    suggestion_id: str, body: AcceptSuggestionIn, rt: RuntimeDep, session: SessionDep, caller: Writer
) -> dict[str, Any]:
    """similar_questions: the questions join the entry (a new version). new_entry: a draft entry from the
    cluster with the `answer` given here."""
    entry_id = do_accept_suggestion(
        rt.uow(),
        suggestion_id,
        actor=caller.actor,
        role=caller.role,
        now=rt.clock.now(),
        questions=body.questions,
        answer=body.answer,
        key=body.key,
        category=body.category,
        content_type=body.content_type,
        problem_type=body.problem_type,
    )
    return {
        "suggestion": suggestion_out(session.get_one(KnowledgeSuggestion, suggestion_id)),
        "entry": knowledge_out(get_entry(session, entry_id)),
    }


@router.post("/knowledge/suggestions/{suggestion_id}/dismiss")
def dismiss_suggestion(
    suggestion_id: str,
    rt: RuntimeDep,
    session: SessionDep,
    caller: Writer,
    body: Annotated[DismissIn | None, Body()] = None,
) -> dict[str, Any]:
    do_dismiss_suggestion(
        rt.uow(), suggestion_id, actor=caller.actor, now=rt.clock.now(), reason=body.reason if body else ""
    )
    return suggestion_out(session.get_one(KnowledgeSuggestion, suggestion_id))
