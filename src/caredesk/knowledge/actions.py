"""Knowledge actions: every change writes a new immutable version and an audit entry in one transaction.

Saving content (one entry from the API, or thousands from an import: see `saving.py`), the workflow moves
(submit, approve, reject, archive, reopen) and rollback; the rules they apply are in `model.py`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from caredesk.compliance.audit import record_audit
from caredesk.errors import InvalidInput
from caredesk.knowledge.model import (
    EntryDraft,
    EntryStatus,
    Move,
    check_approver,
    check_transition,
    status_after_edit,
)
from caredesk.knowledge.queries import (
    get_entry,
    get_version,
    list_versions,
    load_published,
    published_signature,
)
from caredesk.knowledge.saving import (
    ImportReport,
    content_of,
    existing_entries,
    owner_ids,
    save_entries,
    status_errors,
    version_row,
)
from caredesk.storage.orm import KnowledgeEntry, KnowledgeVersion
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = [
    "ImportReport",
    "ImportResult",
    "content_of",
    "do_approve",
    "do_archive",
    "do_import_file",
    "do_move",
    "do_reject",
    "do_reopen",
    "do_rollback",
    "do_save_entries",
    "do_save_entry",
    "do_submit_for_review",
    "get_entry",
    "list_versions",
    "load_published",
    "published_signature",
    "revision_authors",
    "save_entries",
]


def do_save_entries(
    uow: UnitOfWork,
    drafts: Sequence[EntryDraft],
    *,
    actor: str,
    now: datetime,
    role: str = "admin",
    audit: str = "each",
    source: str = "",
) -> ImportReport:
    """Create or update entries by key in one transaction: all of them or none."""
    with uow:
        report = save_entries(
            uow.session, drafts, actor=actor, now=now, role=role, audit=audit, source=source
        )
        uow.commit()
    return report


def do_save_entry(uow: UnitOfWork, draft: EntryDraft, *, actor: str, role: str, now: datetime) -> str:
    """Save one entry (API create/update); returns its id."""
    with uow:
        save_entries(uow.session, [draft], actor=actor, now=now, role=role)
        entry_id = uow.session.scalars(select(KnowledgeEntry.id).where(KnowledgeEntry.key == draft.key)).one()
        uow.commit()
    return str(entry_id)


def revision_authors(versions: Sequence[KnowledgeVersion]) -> set[str]:
    """Who wrote the content of the current revision: the authors of the versions after the last published
    one whose content differs from the version before (pure workflow moves are not authorship)."""
    authors: set[str] = set()
    previous: dict[str, Any] | None = None
    for v in versions:
        content = content_of(v) | {"status": None}
        if v.status == EntryStatus.PUBLISHED:
            authors.clear()
        elif previous is None or content != previous:
            authors.add(v.author)
        previous = content
    return authors


def _lock_entry(session: Session, entry_id: str) -> KnowledgeEntry:
    entry = session.scalar(
        select(KnowledgeEntry)
        .options(defer(KnowledgeEntry.embedding))
        .where(KnowledgeEntry.id == entry_id)
        .with_for_update()
    )
    return entry if entry is not None else get_entry(session, entry_id)


def do_move(
    uow: UnitOfWork, entry_id: str, move: Move, *, actor: str, role: str, now: datetime, reason: str = ""
) -> KnowledgeEntry:
    """One workflow move (see `model.py`): a new version with the new status, and an audit entry."""
    if move == Move.REJECT and not reason.strip():
        raise InvalidInput("a rejection needs a reason", field="reason")
    with uow:
        s = uow.session
        entry = _lock_entry(s, entry_id)
        target = check_transition(entry.status, move)
        if move == Move.APPROVE:
            check_approver(actor, role, revision_authors(list_versions(s, entry_id)))
        entry.status, entry.version, entry.updated_at = target.value, entry.version + 1, now
        s.add(version_row(entry, actor, now))
        data: dict[str, Any] = {"key": entry.key, "version": entry.version, "status": entry.status}
        if reason.strip():
            data["reason"] = reason.strip()[:2000]
        record_audit(
            s,
            actor=actor,
            action=f"knowledge.{move.value}",
            object_type="knowledge_entry",
            object_id=entry.id,
            data=data,
            now=now,
        )
        uow.commit()
    return entry


def do_submit_for_review(
    uow: UnitOfWork, entry_id: str, *, actor: str, role: str, now: datetime
) -> KnowledgeEntry:
    return do_move(uow, entry_id, Move.SUBMIT, actor=actor, role=role, now=now)


def do_approve(uow: UnitOfWork, entry_id: str, *, actor: str, role: str, now: datetime) -> KnowledgeEntry:
    """Publish an entry in review; four-eyes for knowledge editors (`check_approver`)."""
    return do_move(uow, entry_id, Move.APPROVE, actor=actor, role=role, now=now)


def do_reject(
    uow: UnitOfWork, entry_id: str, *, actor: str, role: str, now: datetime, reason: str
) -> KnowledgeEntry:
    return do_move(uow, entry_id, Move.REJECT, actor=actor, role=role, now=now, reason=reason)


def do_archive(uow: UnitOfWork, entry_id: str, *, actor: str, role: str, now: datetime) -> KnowledgeEntry:
    return do_move(uow, entry_id, Move.ARCHIVE, actor=actor, role=role, now=now)


def do_reopen(uow: UnitOfWork, entry_id: str, *, actor: str, role: str, now: datetime) -> KnowledgeEntry:
    return do_move(uow, entry_id, Move.REOPEN, actor=actor, role=role, now=now)


def do_rollback(
    uow: UnitOfWork, entry_id: str, version: int, *, actor: str, role: str, now: datetime
) -> KnowledgeEntry:
    """Restore the content of `version` as a NEW version (history is never rewritten). The restored content
    is an edit like any other: its status follows `status_after_edit` (a knowledge editor's rollback of a
    published entry is a draft to review while the published version keeps answering; an admin's is
    published at once). Rolling back to content equal to the current one writes nothing."""
    with uow:
        s = uow.session
        entry = _lock_entry(s, entry_id)
        source = get_version(s, entry_id, version)
        if content_of(source) | {"status": None} == content_of(entry) | {"status": None}:
            s.expunge(entry)  # nothing to write; keep its loaded state past the rollback
            return entry
        for name, value in content_of(source).items():
            if name != "status":
                setattr(entry, name, value)
        entry.status = status_after_edit(entry.status, role).value
        entry.version, entry.updated_at = entry.version + 1, now
        s.add(version_row(entry, actor, now))
        record_audit(
            s,
            actor=actor,
            action="knowledge.rolled_back",
            object_type="knowledge_entry",
            object_id=entry.id,
            data={
                "key": entry.key,
                "version": entry.version,
                "status": entry.status,
                "from_version": version,
            },
            now=now,
        )
        uow.commit()
    return entry


@dataclass(frozen=True)
class ImportResult:
    rows: int
    entries: int
    report: ImportReport
    dry_run: bool


def do_import_file(
    uow: UnitOfWork,
    source: Path | bytes,
    *,
    name: str = "",
    actor: str,
    role: str,
    now: datetime,
    dry_run: bool = False,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> ImportResult:
    """Import a CSV or XLSX file in ONE transaction: every row is checked first (InvalidFile with every bad
    row's line, column and reason, and nothing written); then all entries are saved, or none. A dry run does
    all of it and rolls back, so its counts are exactly what the import would do. One audit entry per
    import."""
    from caredesk.knowledge.importing import RowError, read_kb_file

    def step(phase: str) -> Callable[[int, int | None], None] | None:
        return None if progress is None else (lambda done, total: progress(phase, done, total))

    label = name or (source.name if isinstance(source, Path) else "upload")
    with uow:
        s = uow.session
        parsed = read_kb_file(source, name=label, owners=owner_ids(s), progress=step("check"))
        existing: dict[str, KnowledgeEntry] = {}
        if not parsed.errors:
            existing = existing_entries(s, [d.key for d in parsed.drafts])
            parsed.errors.extend(
                RowError(parsed.lines[pos], "status", exc.message)
                for pos, exc in status_errors(parsed.drafts, existing, role)
            )
        parsed.raise_errors(label)
        report = save_entries(
            s,
            parsed.drafts,
            actor=actor,
            now=now,
            role=role,
            audit="summary",
            source=label[-64:],
            progress=step("save"),
            existing=existing,
        )
        if not dry_run:
            uow.commit()
    return ImportResult(parsed.rows, len(parsed.drafts), report, dry_run)
