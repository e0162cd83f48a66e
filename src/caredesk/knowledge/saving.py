"""Saving entry content in bulk: one preload of the existing keys, new entries and every version row inserted
in batches, an unchanged draft writing nothing (idempotent re-import). The body of the save actions in
`actions.py`, for actions that already hold a transaction (the demo loader, accepting a suggestion)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, defer

from caredesk.compliance.audit import record_audit
from caredesk.errors import CareDeskError, InvalidInput
from caredesk.ids import new_id
from caredesk.knowledge.model import (
    EntryDraft,
    EntryStatus,
    check_entry,
    check_requested_status,
    may_self_publish,
    status_after_edit,
)
from caredesk.knowledge.versions import CONTENT_FIELDS
from caredesk.storage.orm import KnowledgeEntry, KnowledgeVersion, Staff

__all__ = [
    "ImportReport",
    "content_of",
    "existing_entries",
    "owner_ids",
    "save_entries",
    "status_errors",
    "version_row",
]


_CHUNK = 500
_FLUSH_EVERY = 1000


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int

    @property
    def written(self) -> int:
        return self.created + self.updated


def content_of(row: KnowledgeEntry | KnowledgeVersion) -> dict[str, Any]:
    """The versioned fields of an entry or a version, for comparison and diffs."""
    out = {name: getattr(row, name) for name in CONTENT_FIELDS}
    out["similar_questions"] = list(out["similar_questions"] or [])
    out["answer_variants"] = dict(out["answer_variants"] or {})
    return out


def _draft_content(d: EntryDraft, owner_id: str | None) -> dict[str, Any]:
    return {
        "question": d.question,
        "answer": d.answer,
        "similar_questions": list(d.similar_questions),
        "answer_variants": dict(d.answer_variants),
        "category": d.category,
        "content_type": d.content_type,
        "problem_type": d.problem_type,
        "valid_from": d.valid_from,
        "valid_until": d.valid_until,
        "owner_id": owner_id,
    }


def version_row(entry: KnowledgeEntry, author: str, now: datetime) -> KnowledgeVersion:
    return KnowledgeVersion(
        id=new_id(),
        entry_id=entry.id,
        version=entry.version,
        status=entry.status,
        category=entry.category,
        content_type=entry.content_type,
        problem_type=entry.problem_type,
        question=entry.question,
        similar_questions=list(entry.similar_questions),
        answer=entry.answer,
        author=author,
        answer_variants=dict(entry.answer_variants or {}),
        valid_from=entry.valid_from,
        valid_until=entry.valid_until,
        owner_id=entry.owner_id,
        created_at=now,
    )


def owner_ids(session: Session) -> dict[str, str]:
    """Staff username -> id and id -> id, for resolving owners (one query for any number of rows)."""
    out: dict[str, str] = {}
    for staff_id, username in session.execute(select(Staff.id, Staff.username)):
        out[staff_id] = staff_id
        out[username] = staff_id
    return out


def existing_entries(session: Session, keys: list[str]) -> dict[str, KnowledgeEntry]:
    found: dict[str, KnowledgeEntry] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        found.update(
            (e.key, e)
            for e in session.scalars(
                select(KnowledgeEntry)
                .options(defer(KnowledgeEntry.embedding))
                .where(KnowledgeEntry.key.in_(chunk))
            )
        )
    return found


def status_errors(
    drafts: Sequence[EntryDraft], existing: dict[str, KnowledgeEntry], role: str
) -> list[tuple[int, CareDeskError]]:
    """(position, error) for each draft asking for a status the role may not set. Asking for the status an
    entry already has is no request (an exported file imports again unchanged, whoever imports it)."""
    out: list[tuple[int, CareDeskError]] = []
    for pos, d in enumerate(drafts):
        current = existing.get(d.key)
        if d.status and not (current is not None and current.status == d.status):
            try:
                check_requested_status(d.status, role)
            except CareDeskError as exc:
                out.append((pos, exc))
    return out


def save_entries(
    session: Session,
    drafts: Sequence[EntryDraft],
    *,
    actor: str,
    now: datetime,
    role: str = "admin",
    audit: str = "each",
    source: str = "",
    progress: Callable[[int, int], None] | None = None,
    existing: dict[str, KnowledgeEntry] | None = None,
) -> ImportReport:
    """Create or update entries by key inside the caller's transaction. An unchanged draft writes nothing
    (idempotent re-import). A draft without a status follows the workflow (`status_after_edit`); a requested
    status must be one the role may set. `audit="each"` writes one audit entry per changed entry,
    `"summary"` one for the whole batch (large imports); every changed entry gets its version row."""
    owners = owner_ids(session) if any(d.owner for d in drafts) else {}
    if existing is None:
        existing = existing_entries(session, list(dict.fromkeys(d.key for d in drafts)))
    for d in drafts:
        check_entry(d)
        if d.owner and d.owner not in owners:
            raise InvalidInput(f"owner {d.owner!r} is not a staff username or id", field="owner", key=d.key)
    for _, error in status_errors(drafts, existing, role)[:1]:
        raise error
    created = updated = unchanged = 0
    changed: list[tuple[str, str, int, str, str]] = []  # id, key, version, status, audit action
    new_entries: dict[str, dict[str, Any]] = {}  # inserted in bulk (no ORM objects for thousands of rows)
    versions: list[dict[str, Any]] = []
    for done, d in enumerate(drafts, start=1):
        if progress is not None and done % _FLUSH_EVERY == 0:
            progress(done, len(drafts))
        owner_id = owners[d.owner] if d.owner else None
        content = _draft_content(d, owner_id)
        entry = existing.get(d.key)
        row: dict[str, Any]
        if entry is not None:
            same = content_of(entry) | {"status": None} == content | {"status": None}
            if same and entry.language == d.language and (not d.status or d.status == entry.status):
                unchanged += 1
                continue
            status = d.status or (entry.status if same else status_after_edit(entry.status, role))
            if (entry.question, list(entry.similar_questions)) != (d.question, list(d.similar_questions)):
                entry.embedding = None  # re-encoded and stored by the next index build
            for name, value in content.items():
                setattr(entry, name, value)
            entry.language, entry.status, entry.updated_at = d.language, str(status), now
            entry.version += 1
            row = {"id": entry.id, "version": entry.version}
            updated += 1
            action = "knowledge.saved"
        elif d.key in new_entries:  # the same key twice in one batch: the later one is a second version
            row = new_entries[d.key]
            row.update(
                content,
                language=d.language,
                status=str(d.status or row["status"]),
                version=row["version"] + 1,
            )
            action = "knowledge.saved"
        else:
            status = d.status or (
                EntryStatus.PUBLISHED if may_self_publish(role) else status_after_edit(None, role)
            )
            row = {
                "id": new_id(),
                "key": d.key,
                "version": 1,
                "language": d.language,
                "status": str(status),
                "created_at": now,
                "updated_at": now,
                **content,
            }
            new_entries[d.key] = row
            created += 1
            action = "knowledge.created"
        current = content | {"status": entry.status if entry is not None else row["status"]}
        versions.append(
            {
                **current,
                "id": new_id(),
                "entry_id": row["id"],
                "version": row["version"],
                "author": actor,
                "created_at": now,
            }
        )
        changed.append((row["id"], d.key, row["version"], current["status"], action))
    session.flush()
    rows = list(new_entries.values())
    for start in range(0, len(rows), _FLUSH_EVERY):
        session.execute(insert(KnowledgeEntry), rows[start : start + _FLUSH_EVERY])
    for start in range(0, len(versions), _FLUSH_EVERY):
        session.execute(insert(KnowledgeVersion), versions[start : start + _FLUSH_EVERY])
    if progress is not None:
        progress(len(drafts), len(drafts))
    if audit == "each":
        for entry_id, key, version, status, action in changed:
            record_audit(
                session,
                actor=actor,
                action=action,
                object_type="knowledge_entry",
                object_id=entry_id,
                data={"key": key, "version": version, "status": status},
                now=now,
            )
    elif changed:
        record_audit(
            session,
            actor=actor,
            action="knowledge.imported",
            object_type="knowledge_base",
            object_id=source[:64] or "import",
            data={"created": created, "updated": updated, "unchanged": unchanged},
            now=now,
        )
    return ImportReport(created, updated, unchanged)
