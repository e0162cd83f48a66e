"""An editor's answer to a suggested knowledge entry: accept it (a draft or published entry, or questions added
to an existing one) or dismiss it. Each is one transaction with an audit entry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.compliance.audit import record_audit
from caredesk.errors import Conflict, InvalidInput, NotFound
from caredesk.knowledge.actions import save_entries
from caredesk.knowledge.model import EntryDraft, EntryStatus
from caredesk.knowledge.queries import get_entry
from caredesk.storage.orm import KnowledgeEntry, KnowledgeSuggestion
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.text.normalise import normalise_text

__all__ = ["ACCEPTED", "DISMISSED", "OPEN", "do_accept_suggestion", "do_dismiss_suggestion"]

OPEN, ACCEPTED, DISMISSED = "open", "accepted", "dismissed"


def _open_suggestion(session: Session, suggestion_id: str) -> KnowledgeSuggestion:
    row = session.scalar(
        select(KnowledgeSuggestion).where(KnowledgeSuggestion.id == suggestion_id).with_for_update()
    )
    if row is None:
        raise NotFound("suggestion not found", id=suggestion_id)
    if row.status != OPEN:
        raise Conflict(f"the suggestion is already {row.status}", status=row.status)
    return row


def _chosen(row: KnowledgeSuggestion, questions: list[str] | None) -> list[str]:
    chosen = [q.strip() for q in (row.questions if questions is None else questions) if q.strip()]
    if not chosen:
        raise InvalidInput("choose at least one question", field="questions")
    return list(dict.fromkeys(chosen))


def do_accept_suggestion(
    uow: UnitOfWork,
    suggestion_id: str,
    *,
    actor: str,
    role: str,
    now: datetime,
    questions: list[str] | None = None,
    answer: str | None = None,
    key: str | None = None,
    category: str = "",
    content_type: str | None = None,
    problem_type: str | None = None,
) -> str:
    """Accept a suggestion; returns the id of the entry it changed or created.
    similar_questions: the chosen questions (default: all) are added to the entry as a new version (an edit:
    see `model.status_after_edit`). new_entry: a DRAFT entry with the first chosen question as its standard
    question, the rest as similar questions, and the editor's `answer` (required)."""
    with uow:
        s = uow.session
        row = _open_suggestion(s, suggestion_id)
        chosen = _chosen(row, questions)
        if row.kind == "similar_questions" and row.entry_id:
            entry = get_entry(s, row.entry_id)
            known = {normalise_text(q).lower() for q in (entry.question, *entry.similar_questions)}
            added = [q for q in chosen if normalise_text(q).lower() not in known]
            draft = EntryDraft(
                key=entry.key,
                language=entry.language,
                question=entry.question,
                answer=entry.answer,
                content_type=entry.content_type,
                problem_type=entry.problem_type,
                category=entry.category,
                similar_questions=(*entry.similar_questions, *added),
                answer_variants=dict(entry.answer_variants or {}),
                valid_from=entry.valid_from,
                valid_until=entry.valid_until,
                owner=entry.owner_id,
            )
        else:
            if not (answer or "").strip():
                raise InvalidInput("a new entry needs an answer", field="answer")
            key = (key or f"suggested-{row.id[-12:]}").strip()
            if s.scalar(select(KnowledgeEntry.id).where(KnowledgeEntry.key == key)):
                raise Conflict("an entry with this key exists", key=key)
            draft = EntryDraft(
                key=key,
                language=row.language,
                question=chosen[0],
                answer=(answer or "").strip(),
                content_type=content_type or row.details.get("content_type", "business"),
                problem_type=problem_type or row.details.get("problem_type", "consultation"),
                category=category,
                similar_questions=tuple(chosen[1:]),
                status=EntryStatus.DRAFT.value,
            )
        save_entries(s, [draft], actor=actor, now=now, role=role)
        entry_id = s.scalars(select(KnowledgeEntry.id).where(KnowledgeEntry.key == draft.key)).one()
        row.status, row.decided_at, row.decided_by = ACCEPTED, now, actor
        row.details = {**row.details, "entry_id": entry_id, "accepted_questions": chosen}
        record_audit(
            s,
            actor=actor,
            action="knowledge.suggestion_accepted",
            object_type="knowledge_suggestion",
            object_id=row.id,
            data={"entry_id": entry_id, "kind": row.kind, "questions": len(chosen)},
            now=now,
        )
        uow.commit()
    return str(entry_id)


def do_dismiss_suggestion(
    uow: UnitOfWork, suggestion_id: str, *, actor: str, now: datetime, reason: str = ""
) -> None:
    with uow:
        s = uow.session
        row = _open_suggestion(s, suggestion_id)
        row.status, row.decided_at, row.decided_by = DISMISSED, now, actor
        if reason.strip():
            row.details = {**row.details, "reason": reason.strip()[:2000]}
        record_audit(
            s,
            actor=actor,
            action="knowledge.suggestion_dismissed",
            object_type="knowledge_suggestion",
            object_id=row.id,
            data={"kind": row.kind, "reason": reason.strip()[:200]},
            now=now,
        )
        uow.commit()
