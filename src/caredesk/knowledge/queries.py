"""Reading the knowledge base: the entries that may answer customers now, the signature that tells the
process-wide index when to rebuild, versions with their notes, category counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, defer

from caredesk.clock import utcnow
from caredesk.errors import NotFound
from caredesk.knowledge.model import EntryStatus, is_valid_at
from caredesk.knowledge.store import IndexedEntry
from caredesk.storage.orm import AuditEntry, KnowledgeEntry, KnowledgeVersion

__all__ = [
    "category_counts",
    "get_entry",
    "get_version",
    "list_versions",
    "load_published",
    "published_signature",
    "version_notes",
]

_PUBLISHED, _ARCHIVED = EntryStatus.PUBLISHED.value, EntryStatus.ARCHIVED.value
_PENDING = (EntryStatus.DRAFT.value, EntryStatus.REVIEW.value)


def get_entry(session: Session, entry_id: str) -> KnowledgeEntry:
    entry = session.get(KnowledgeEntry, entry_id)
    if entry is None:
        raise NotFound("knowledge entry not found", id=entry_id)
    return entry


def list_versions(session: Session, entry_id: str) -> list[KnowledgeVersion]:
    get_entry(session, entry_id)
    return list(
        session.scalars(
            select(KnowledgeVersion)
            .where(KnowledgeVersion.entry_id == entry_id)
            .order_by(KnowledgeVersion.version)
        )
    )


def get_version(session: Session, entry_id: str, version: int) -> KnowledgeVersion:
    row = session.scalar(
        select(KnowledgeVersion).where(
            KnowledgeVersion.entry_id == entry_id, KnowledgeVersion.version == version
        )
    )
    if row is None:
        raise NotFound("knowledge version not found", id=entry_id, version=version)
    return row


def version_notes(session: Session, entry_id: str) -> dict[int, dict[str, Any]]:
    """What the audit log says about each version (the action, a rejection's reason, a rollback's source)."""
    notes: dict[int, dict[str, Any]] = {}
    for action, data in session.execute(
        select(AuditEntry.action, AuditEntry.data)
        .where(AuditEntry.object_type == "knowledge_entry", AuditEntry.object_id == entry_id)
        .order_by(AuditEntry.id)
    ):
        if isinstance(data, dict) and isinstance(data.get("version"), int):
            notes[data["version"]] = {"action": action, **{k: v for k, v in data.items() if k != "version"}}
    return notes


def published_signature(session: Session, now: datetime | None = None) -> tuple[int, str]:
    """Changes whenever the set of answering entries may have changed: a publish, an edit of a published
    entry, an archive (also of a draft whose earlier published version still answers), or a validity
    boundary (valid_from reached, valid_until passed) of a published entry."""
    now = now or utcnow()
    e = KnowledgeEntry
    published, archived = e.status == _PUBLISHED, e.status == _ARCHIVED
    row = session.execute(
        select(
            func.count(case((published, 1))),
            func.max(case((published, e.updated_at))),
            func.sum(case((published, e.version))),
            func.count(case((archived, 1))),
            func.max(case((archived, e.updated_at))),
            func.sum(case((archived, e.version))),
            func.max(case((published & (e.valid_from <= now), e.valid_from))),
            func.max(case((published & (e.valid_until <= now), e.valid_until))),
        )
    ).one()
    return int(row[0]), "|".join(str(v) for v in row[1:])


def _indexed(e: KnowledgeEntry | KnowledgeVersion, entry_id: str) -> IndexedEntry:
    return IndexedEntry(
        entry_id=entry_id,
        version=e.version,
        content_type=e.content_type,
        problem_type=e.problem_type,
        question=e.question,
        similar_questions=tuple(e.similar_questions),
        answer=e.answer,
    )


def load_published(session: Session, now: datetime | None = None) -> list[IndexedEntry]:
    """The entries that answer customers at `now`: published and inside their validity window. An entry
    whose new revision is still a draft or in review keeps answering with its last published version
    (unless it was archived since)."""
    now = now or utcnow()
    e = KnowledgeEntry
    valid = (e.valid_from.is_(None) | (e.valid_from <= now)) & (
        e.valid_until.is_(None) | (e.valid_until > now)
    )
    out = [
        _indexed(row, row.id)
        for row in session.scalars(select(e).options(defer(e.embedding)).where(e.status == _PUBLISHED, valid))
    ]
    pending = select(e.id).where(e.status.in_(_PENDING)).scalar_subquery()
    v = KnowledgeVersion
    last: dict[str, KnowledgeVersion] = {}
    for row in session.scalars(
        select(v)
        .where(v.entry_id.in_(pending), v.status.in_((_PUBLISHED, _ARCHIVED)))
        .order_by(v.entry_id, v.version)
    ):
        last[row.entry_id] = row
    out.extend(
        _indexed(row, entry_id)
        for entry_id, row in last.items()
        if row.status == _PUBLISHED and is_valid_at(row.valid_from, row.valid_until, now)
    )
    return out


def category_counts(session: Session) -> list[tuple[str, str, int]]:
    """(category, status, entries) for the category tree."""
    rows = session.execute(
        select(KnowledgeEntry.category, KnowledgeEntry.status, func.count()).group_by(
            KnowledgeEntry.category, KnowledgeEntry.status
        )
    )
    return [(str(c or ""), str(s), int(n)) for c, s, n in rows]
