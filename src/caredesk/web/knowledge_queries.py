"""Read-side of the knowledge pages: the filtered entry list, everything the entry page shows (history, who
wrote what, the version that answers customers now, the moves the signed-in role may make) and the diff laid
out for reading. The rules themselves stay in `caredesk.knowledge`; this only gathers and arranges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, defer

from caredesk.accounts.roles import can
from caredesk.errors import CareDeskError
from caredesk.http.deps import Caller
from caredesk.knowledge.actions import content_of, revision_authors
from caredesk.knowledge.model import TRANSITIONS, EntryStatus, Move, check_approver
from caredesk.knowledge.queries import category_counts, get_entry, get_version, list_versions, version_notes
from caredesk.knowledge.versions import FieldChange, diff_contents
from caredesk.storage.orm import KnowledgeEntry, KnowledgeVersion, Staff
from caredesk.storage.pagination import Page, paginate

__all__ = ["DiffLine", "DiffView", "EntryFilter", "EntryView", "MoveOption", "answering_version",
           "categories", "diff_view", "entry_view", "move_options", "search_entries", "web_actor"]

PAGE_SIZE = 25
_REVIEW_MOVES = frozenset({Move.APPROVE, Move.REJECT})
_MOVE_ORDER = (Move.SUBMIT, Move.APPROVE, Move.REJECT, Move.REOPEN, Move.ARCHIVE)


def web_actor(staff: Staff) -> str:
    """The actor a signed-in person writes as: the API's for the same person's web session."""
    return Caller.of_staff(staff).actor


@dataclass(frozen=True)
class EntryFilter:
    text: str = ""
    status: str = ""
    category: str = ""
    cursor: str | None = None


def search_entries(session: Session, f: EntryFilter, limit: int = PAGE_SIZE) -> Page[KnowledgeEntry]:
    """Newest first; `text` looks in the key, the question and the answer; `category` takes the path and
    everything below it (as the API's list does)."""
    e = KnowledgeEntry
    stmt = select(e).options(defer(e.embedding))
    if f.text.strip():
        needle = f.text.strip()
        stmt = stmt.where(or_(*(column.icontains(needle, autoescape=True)
                                for column in (e.key, e.question, e.answer))))
    if f.status:
        stmt = stmt.where(e.status == f.status)
    if f.category.strip("/"):
        path = f.category.strip("/")
        stmt = stmt.where(or_(e.category == path, e.category.startswith(path + "/", autoescape=True)))
    return paginate(session, stmt, e.id, f.cursor, limit)


def categories(session: Session) -> list[str]:
    """Every category path in use and its parents, for the filter's choices."""
    paths: set[str] = set()
    for category, _, _ in category_counts(session):
        parts = [p for p in category.split("/") if p]
        paths.update("/".join(parts[: n + 1]) for n in range(len(parts)))
    return sorted(paths)


@dataclass(frozen=True)
class MoveOption:
    move: str
    blocked: str = ""  # why this person may not make it now (four-eyes), shown instead of hiding the button


def move_options(status: str, role: str, actor: str, authors: set[str]) -> list[MoveOption]:
    """The workflow moves the state machine allows from `status` and the role may make, in reading order."""
    if not can(role, "knowledge.write"):
        return []
    out = []
    for move in _MOVE_ORDER:
        sources, _ = TRANSITIONS[move]
        if status not in sources or (move in _REVIEW_MOVES and not can(role, "knowledge.review")):
            continue
        blocked = ""
        if move == Move.APPROVE:
            try:
                check_approver(actor, role, authors)
            except CareDeskError as exc:
                blocked = exc.message
        out.append(MoveOption(move.value, blocked))
    return out


def answering_version(status: str, versions: list[KnowledgeVersion]) -> KnowledgeVersion | None:
    """The version customers get now (validity windows aside), mirroring `load_published`: the current one
    when published; while a revision is pending, the last published one unless archived since; else none."""
    if not versions:
        return None
    if status == EntryStatus.PUBLISHED:
        return versions[-1]
    if status not in (EntryStatus.DRAFT, EntryStatus.REVIEW):
        return None
    settled = (EntryStatus.PUBLISHED, EntryStatus.ARCHIVED)
    last = next((v for v in reversed(versions) if v.status in settled), None)
    return last if last is not None and last.status == EntryStatus.PUBLISHED else None


@dataclass(frozen=True)
class EntryView:
    entry: KnowledgeEntry
    versions: list[KnowledgeVersion]  # newest first
    notes: dict[int, dict[str, Any]]
    people: dict[str, str]  # author ("staff:<id>") -> display name
    answering: KnowledgeVersion | None
    moves: list[MoveOption]
    may_write: bool

    def shown_status(self, version: KnowledgeVersion) -> str:
        """A version's status as the history shows it: a published version that customers no longer get
        (a later one replaced it, or the entry was archived) is `superseded`, not still "published"."""
        if version.status == EntryStatus.PUBLISHED and (self.answering is None
                                                        or self.answering.version != version.version):
            return "superseded"
        return str(version.status)


def _people(session: Session, authors: set[str]) -> dict[str, str]:
    ids = [a.removeprefix("staff:") for a in authors if a.startswith("staff:")]
    if not ids:
        return {}
    rows = session.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(ids)))
    return {f"staff:{staff_id}": name for staff_id, name in rows}


def entry_view(session: Session, entry_id: str, staff: Staff) -> EntryView:
    entry = get_entry(session, entry_id)
    versions = list_versions(session, entry_id)
    actor = web_actor(staff)
    return EntryView(
        entry=entry, versions=list(reversed(versions)), notes=version_notes(session, entry_id),
        people=_people(session, {v.author for v in versions}),
        answering=answering_version(entry.status, versions),
        moves=move_options(entry.status, staff.role, actor, revision_authors(versions)),
        may_write=can(staff.role, "knowledge.write"))


@dataclass(frozen=True)
class DiffLine:
    kind: str  # add | del | hunk | same
    text: str


@dataclass(frozen=True)
class DiffView:
    entry_id: str
    from_version: int
    to_version: int
    changes: list[FieldChange]
    lines: dict[str, list[DiffLine]]  # text fields: the unified diff, one classified line each


def _classify(diff: str) -> list[DiffLine]:
    out = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            continue  # the file headers only repeat the field and version names
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same")
        out.append(DiffLine(kind, line[1:] if kind in ("add", "del", "same") else line))
    return out


def diff_view(session: Session, entry_id: str, from_version: int, to_version: int) -> DiffView:
    """The backend's field-by-field diff between two versions, with text diffs split into lines to colour."""
    get_entry(session, entry_id)
    a, b = get_version(session, entry_id, from_version), get_version(session, entry_id, to_version)
    changes = diff_contents(content_of(a), content_of(b), (f"v{from_version}", f"v{to_version}"))
    lines = {c.field: _classify(c.diff) for c in changes if c.kind == "text"}
    return DiffView(entry_id, from_version, to_version, changes, lines)
