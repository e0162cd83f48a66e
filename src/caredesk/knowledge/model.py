"""Knowledge entry rules (pure): what an entry must hold, its category path, its validity window, and the
publication workflow as an explicit state machine with the four-eyes rule.

Workflow::

    draft ──submit──> review ──approve──> published ──archive──> archived
      ^                 │                    │                      │
      └────reject───────┘                    │                      │
      └────────────edit (new revision)───────┘                      │
      └────────────────────────────reopen───────────────────────────┘
    (archive is also allowed from draft and review: a discarded draft)

Content edits are not moves: an edit of a draft stays a draft; an edit of an entry in review or an archived
entry makes it a draft again; an edit of a published entry opens a new draft revision (the published version
keeps answering customers until the new one is approved) unless the editor may publish on their own
(admin), in which case the edit is published at once and the audit log says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from caredesk.errors import Conflict, Forbidden, InvalidInput
from caredesk.triage.labels import ContentType, ProblemType

__all__ = [
    "CATEGORY_MAX",
    "CHANNELS",
    "EntryDraft",
    "EntryStatus",
    "Move",
    "check_approver",
    "check_entry",
    "check_requested_status",
    "check_transition",
    "is_valid_at",
    "may_self_publish",
    "move_for",
    "normalise_category",
    "status_after_edit",
]

CHANNELS = ("web", "chat", "app", "email", "wechat", "sms", "phone", "api")
CATEGORY_MAX = 128
_SELF_PUBLISHERS = frozenset({"admin"})


class EntryStatus(StrEnum):
    DRAFT = "draft"
    REVIEW = "review"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Move(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    ARCHIVE = "archive"
    REOPEN = "reopen"


_S = EntryStatus
TRANSITIONS: dict[Move, tuple[frozenset[EntryStatus], EntryStatus]] = {
    Move.SUBMIT: (frozenset({_S.DRAFT}), _S.REVIEW),
    Move.APPROVE: (frozenset({_S.REVIEW}), _S.PUBLISHED),
    Move.REJECT: (frozenset({_S.REVIEW}), _S.DRAFT),
    Move.ARCHIVE: (frozenset({_S.DRAFT, _S.REVIEW, _S.PUBLISHED}), _S.ARCHIVED),
    Move.REOPEN: (frozenset({_S.ARCHIVED}), _S.DRAFT),
}


@dataclass(frozen=True)
class EntryDraft:
    """The content of an entry as an editor or an import file gives it. `owner` is a staff username or id
    (resolved by the action); `answer_variants` maps a channel to the answer text used on that channel."""

    key: str
    language: str
    question: str
    answer: str
    content_type: str
    problem_type: str = ProblemType.CONSULTATION.value
    category: str = ""
    similar_questions: tuple[str, ...] = field(default_factory=tuple)
    status: str = ""  # "" = as the workflow decides (`status_after_edit`); else a requested status
    answer_variants: Mapping[str, str] = field(default_factory=dict)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    owner: str | None = None


def normalise_category(path: str) -> str:
    """`" cards / credit/ "` -> `"cards/credit"`: spaces around segments and empty segments go; case stays."""
    return "/".join(part.strip() for part in path.split("/") if part.strip())


def check_entry(draft: EntryDraft) -> None:
    """Raise InvalidInput naming the first field that is wrong."""
    if not draft.key.strip() or len(draft.key) > 128:
        raise InvalidInput("key must be 1-128 characters", field="key")
    if draft.language not in {"zh", "en"}:
        raise InvalidInput("language must be zh or en", field="language")
    if not draft.question.strip():
        raise InvalidInput("question is empty", field="question")
    if not draft.answer.strip():
        raise InvalidInput("answer is empty", field="answer")
    if draft.content_type not in {c.value for c in ContentType}:
        raise InvalidInput(
            f"content_type must be one of {[c.value for c in ContentType]}", field="content_type"
        )
    if draft.problem_type not in {p.value for p in ProblemType}:
        raise InvalidInput(
            f"problem_type must be one of {[p.value for p in ProblemType]}", field="problem_type"
        )
    if draft.status and draft.status not in {s.value for s in EntryStatus}:
        raise InvalidInput(f"status must be one of {[s.value for s in EntryStatus]}", field="status")
    if draft.category != normalise_category(draft.category) or len(draft.category) > CATEGORY_MAX:
        raise InvalidInput(
            f"category must be a path like cards/credit (at most {CATEGORY_MAX} characters, "
            "no empty segments)",
            field="category",
        )
    if any(not q.strip() for q in draft.similar_questions):
        raise InvalidInput("a similar question is empty", field="similar_questions")
    for channel, text in draft.answer_variants.items():
        if channel not in CHANNELS:
            raise InvalidInput(
                f"answer variant channel must be one of {list(CHANNELS)}", field=f"answer_{channel}"
            )
        if not text.strip():
            raise InvalidInput(f"the {channel} answer is empty", field=f"answer_{channel}")
    for name in ("valid_from", "valid_until"):
        value = getattr(draft, name)
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name} needs a time zone", field=name)
    if draft.valid_from and draft.valid_until and draft.valid_from >= draft.valid_until:
        raise InvalidInput("valid_from must be before valid_until", field="valid_until")


def is_valid_at(valid_from: datetime | None, valid_until: datetime | None, now: datetime) -> bool:
    """Inside the validity window: from is inclusive, until exclusive; an open end is unbounded."""
    return (valid_from is None or valid_from <= now) and (valid_until is None or now < valid_until)


def check_transition(current: str, move: Move) -> EntryStatus:
    """The status after `move`, or Conflict when the move is not allowed from `current`."""
    sources, target = TRANSITIONS[move]
    if current not in sources:
        allowed = ", ".join(sorted(m.value for m, (src, _) in TRANSITIONS.items() if current in src))
        raise Conflict(
            f"cannot {move.value} an entry that is {current} (allowed: {allowed or 'none'})",
            status=current,
            move=move.value,
        )
    return target


def move_for(current: str, target: str) -> Move:
    """The move that takes an entry from `current` to `target` (a status-only change), or Conflict."""
    for move, (sources, status) in TRANSITIONS.items():
        if current in sources and status == target:
            return move
    raise Conflict(f"an entry that is {current} cannot become {target}", status=current, target=target)


def may_self_publish(role: str) -> bool:
    """Admins (and the operator's CLI) may publish their own edits; knowledge editors need a second person."""
    return role in _SELF_PUBLISHERS


def status_after_edit(current: str | None, role: str) -> EntryStatus:
    """The status a content edit leaves: see the module docstring. `current` is None for a new entry."""
    if current == EntryStatus.DRAFT or current is None:
        return EntryStatus.DRAFT
    if current == EntryStatus.PUBLISHED and may_self_publish(role):
        return EntryStatus.PUBLISHED
    return EntryStatus.DRAFT


def check_requested_status(requested: str, role: str) -> None:
    """A save may ask for a status directly: editors may ask for draft or review (submit at once); only a
    self-publisher may save straight to published or archived."""
    if requested in (EntryStatus.DRAFT, EntryStatus.REVIEW) or may_self_publish(role):
        return
    raise Forbidden(
        f"role {role} may not save an entry as {requested}: submit it for review and let a second "
        "person approve it",
        field="status",
    )


def check_approver(actor: str, role: str, authors: Iterable[str]) -> None:
    """Four-eyes: a knowledge editor may not approve a revision they wrote (any version since the entry was
    last published); an admin may."""
    if may_self_publish(role):
        return
    if actor in set(authors):
        raise Forbidden(
            "four-eyes rule: the approver must be a different person than the author of this revision",
            rule="four_eyes",
        )
