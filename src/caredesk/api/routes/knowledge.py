"""Knowledge-base API: entries, the publication workflow, versions (diff, rollback), the category tree.
Every change is a new version; DELETE archives. Import/export and suggestions are in their own modules,
included here so that their fixed paths come before `/knowledge/{entry_id}`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import or_, select

from caredesk.accounts.roles import can
from caredesk.api.knowledge_schemas import (
    KnowledgeIn,
    KnowledgeUpdate,
    RejectIn,
    RollbackIn,
    knowledge_out,
    version_out,
)
from caredesk.api.query_params import Cursor
from caredesk.api.routes import knowledge_files, knowledge_suggestions
from caredesk.api.schemas import PageOut
from caredesk.errors import Conflict, Forbidden
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, require
from caredesk.knowledge.actions import content_of, do_move, do_rollback, do_save_entry
from caredesk.knowledge.categories import build_category_tree
from caredesk.knowledge.model import EntryDraft, Move, move_for
from caredesk.knowledge.queries import category_counts, get_entry, get_version, list_versions, version_notes
from caredesk.knowledge.versions import diff_contents
from caredesk.storage.orm import KnowledgeEntry
from caredesk.storage.pagination import paginate

router = APIRouter(tags=["knowledge"])
router.include_router(knowledge_files.router)
router.include_router(knowledge_suggestions.router)
Reader = Annotated[Caller, Depends(require("knowledge.read"))]
Writer = Annotated[Caller, Depends(require("knowledge.write"))]
Reviewer = Annotated[Caller, Depends(require("knowledge.review"))]
_REVIEW_MOVES = {Move.APPROVE, Move.REJECT}


@router.get("/knowledge", response_model=PageOut)
def list_entries(
    session: SessionDep,
    _: Reader,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    status: Annotated[str | None, Query(max_length=16)] = None,
    category: Annotated[str | None, Query(max_length=128, description="this path and below")] = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
) -> PageOut:
    stmt = select(KnowledgeEntry)
    if status:
        stmt = stmt.where(KnowledgeEntry.status == status)
    if language:
        stmt = stmt.where(KnowledgeEntry.language == language)
    if category:
        path = category.strip("/")
        stmt = stmt.where(
            or_(
                KnowledgeEntry.category == path,
                KnowledgeEntry.category.startswith(path + "/", autoescape=True),
            )
        )
    page = paginate(session, stmt, KnowledgeEntry.id, cursor, limit)
    return PageOut(items=[knowledge_out(e) for e in page.items], next_cursor=page.next_cursor)


@router.get("/knowledge/categories")
def categories(session: SessionDep, _: Reader) -> dict[str, Any]:
    """The category tree: each node has `count` (entries filed there), `total` and `published` (subtree)."""
    return build_category_tree(category_counts(session)).to_json()


@router.post("/knowledge", status_code=201)
def create_entry(body: KnowledgeIn, rt: RuntimeDep, session: SessionDep, caller: Writer) -> dict[str, Any]:
    if session.scalar(select(KnowledgeEntry.id).where(KnowledgeEntry.key == body.key)):
        raise Conflict("an entry with this key exists", key=body.key)
    entry_id = do_save_entry(rt.uow(), body.draft(), actor=caller.actor, role=caller.role, now=rt.clock.now())
    return knowledge_out(get_entry(session, entry_id))


@router.get("/knowledge/{entry_id}")
def read_entry(entry_id: str, session: SessionDep, _: Reader) -> dict[str, Any]:
    return knowledge_out(get_entry(session, entry_id))


def _move(
    rt: Any, session: Any, caller: Caller, entry_id: str, move: Move, reason: str = ""
) -> dict[str, Any]:
    if move in _REVIEW_MOVES and not can(caller.role, "knowledge.review"):
        raise Forbidden(f"role {caller.role} may not knowledge.review")
    do_move(rt.uow(), entry_id, move, actor=caller.actor, role=caller.role, now=rt.clock.now(), reason=reason)
    session.expire_all()
    return knowledge_out(get_entry(session, entry_id))


@router.put("/knowledge/{entry_id}")
def update_entry(
    entry_id: str, body: KnowledgeUpdate, rt: RuntimeDep, session: SessionDep, caller: Writer
) -> dict[str, Any]:
    """Change content (a new version; see the workflow in knowledge/model.py). A body with only `status`
    (and `reason`) is a workflow move: review = submit, published = approve, draft = reject or reopen."""
    current = get_entry(session, entry_id)
    changes = body.model_dump(exclude_unset=True)
    status, reason = changes.pop("status", None), changes.pop("reason", "")
    if not changes:
        if status is None or status == current.status:
            return knowledge_out(current)
        return _move(rt, session, caller, entry_id, move_for(current.status, status), reason)
    merged = {**content_of(current), "language": current.language, **changes}
    draft = EntryDraft(
        key=current.key,
        language=merged["language"],
        question=merged["question"],
        answer=merged["answer"],
        content_type=merged["content_type"],
        problem_type=merged["problem_type"],
        category=merged["category"],
        similar_questions=tuple(merged["similar_questions"]),
        answer_variants=dict(merged["answer_variants"]),
        valid_from=merged["valid_from"],
        valid_until=merged["valid_until"],
        owner=merged.get("owner", current.owner_id),
        status=status or "",
    )
    do_save_entry(rt.uow(), draft, actor=caller.actor, role=caller.role, now=rt.clock.now())
    session.expire_all()
    return knowledge_out(get_entry(session, entry_id))


@router.delete("/knowledge/{entry_id}")
def archive_entry(entry_id: str, rt: RuntimeDep, session: SessionDep, caller: Writer) -> dict[str, Any]:
    return _move(rt, session, caller, entry_id, Move.ARCHIVE)


@router.post("/knowledge/{entry_id}/submit")
def submit_entry(entry_id: str, rt: RuntimeDep, session: SessionDep, caller: Writer) -> dict[str, Any]:
    return _move(rt, session, caller, entry_id, Move.SUBMIT)


@router.post("/knowledge/{entry_id}/approve")
def approve_entry(entry_id: str, rt: RuntimeDep, session: SessionDep, caller: Reviewer) -> dict[str, Any]:
    """Publish an entry in review. A knowledge editor may not approve a revision they wrote (four-eyes)."""
    return _move(rt, session, caller, entry_id, Move.APPROVE)


@router.post("/knowledge/{entry_id}/reject")
def reject_entry(
    entry_id: str, body: RejectIn, rt: RuntimeDep, session: SessionDep, caller: Reviewer
) -> dict[str, Any]:
    return _move(rt, session, caller, entry_id, Move.REJECT, body.reason)


@router.post("/knowledge/{entry_id}/archive")
def archive_entry_post(entry_id: str, rt: RuntimeDep, session: SessionDep, caller: Writer) -> dict[str, Any]:
    return _move(rt, session, caller, entry_id, Move.ARCHIVE)


@router.post("/knowledge/{entry_id}/reopen")
def reopen_entry(entry_id: str, rt: RuntimeDep, session: SessionDep, caller: Writer) -> dict[str, Any]:
    return _move(rt, session, caller, entry_id, Move.REOPEN)


@router.get("/knowledge/{entry_id}/versions")
def entry_versions(entry_id: str, session: SessionDep, _: Reader) -> list[dict[str, Any]]:
    notes = version_notes(session, entry_id)
    return [version_out(v, notes.get(v.version)) for v in list_versions(session, entry_id)]


@router.get("/knowledge/{entry_id}/diff")
def entry_diff(
    entry_id: str,
    session: SessionDep,
    _: Reader,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> dict[str, Any]:
    """Field by field: `text` changes carry a unified diff, `list` changes the added and removed items,
    `value` changes before and after."""
    get_entry(session, entry_id)
    a, b = get_version(session, entry_id, from_version), get_version(session, entry_id, to_version)
    changes = diff_contents(content_of(a), content_of(b), (f"v{from_version}", f"v{to_version}"))
    return {
        "entry_id": entry_id,
        "from": from_version,
        "to": to_version,
        "changes": [c.to_json() for c in changes],
    }


@router.post("/knowledge/{entry_id}/rollback")
def rollback_entry(
    entry_id: str, body: RollbackIn, rt: RuntimeDep, session: SessionDep, caller: Writer
) -> dict[str, Any]:
    """Restore version N's content as a new version (history is kept). Its status follows the edit rule:
    a knowledge editor's rollback is a draft for review, an admin's keeps a published entry published."""
    do_rollback(rt.uow(), entry_id, body.version, actor=caller.actor, role=caller.role, now=rt.clock.now())
    session.expire_all()
    return knowledge_out(get_entry(session, entry_id))
