"""The publication workflow, four-eyes, what answers customers (validity, revisions) and rollback, on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from caredesk.bootstrap.runtime import Runtime
from caredesk.errors import Conflict, Forbidden, InvalidInput
from caredesk.knowledge.actions import (
    do_approve,
    do_archive,
    do_reject,
    do_reopen,
    do_rollback,
    do_save_entry,
    do_submit_for_review,
    load_published,
    published_signature,
)
from caredesk.knowledge.model import EntryDraft
from caredesk.knowledge.queries import list_versions, version_notes
from caredesk.storage.orm import AuditEntry

EDITOR = "knowledge_editor"


def _draft(key: str = "wf-1", **changes: object) -> EntryDraft:
    values: dict[str, object] = dict(
        key=key,
        language="en",
        question="How do I rent a safe deposit box?",
        answer="Ask at any branch with your ID.",
        content_type="business",
        category="branch/services",
    )
    values.update(changes)
    return EntryDraft(**values)  # type: ignore[arg-type]


def _served(rt: Runtime, entry_id: str, **kw: object) -> list[tuple[int, str]]:
    with rt.session_factory() as s:
        return [(e.version, e.answer) for e in load_published(s, **kw) if e.entry_id == entry_id]  # type: ignore[arg-type]


def test_knowledge_workflow_four_eyes_and_history(runtime: Runtime) -> None:
    now = runtime.clock.now()
    entry_id = do_save_entry(runtime.uow(), _draft(), actor="staff:alice", role=EDITOR, now=now)
    with pytest.raises(Conflict):
        do_approve(
            runtime.uow(), entry_id, actor="staff:bob", role=EDITOR, now=now
        )  # a draft is not in review
    do_submit_for_review(runtime.uow(), entry_id, actor="staff:alice", role=EDITOR, now=now)
    with pytest.raises(Forbidden):
        do_approve(runtime.uow(), entry_id, actor="staff:alice", role=EDITOR, now=now)  # four eyes
    do_reject(runtime.uow(), entry_id, actor="staff:bob", role=EDITOR, now=now, reason="Say which documents.")
    with pytest.raises(InvalidInput):
        do_reject(runtime.uow(), entry_id, actor="staff:bob", role=EDITOR, now=now, reason=" ")
    do_save_entry(
        runtime.uow(),
        _draft(answer="Bring your ID card and a debit card to any branch."),
        actor="staff:alice",
        role=EDITOR,
        now=now,
    )
    do_submit_for_review(runtime.uow(), entry_id, actor="staff:alice", role=EDITOR, now=now)
    assert _served(runtime, entry_id) == []  # never published: nothing answers yet
    entry = do_approve(runtime.uow(), entry_id, actor="staff:bob", role=EDITOR, now=now)  # bob only rejected
    assert (entry.status, entry.version) == ("published", 6)
    assert _served(runtime, entry_id) == [(6, "Bring your ID card and a debit card to any branch.")]

    with runtime.session_factory() as s:
        history = [(v.version, v.status, v.author) for v in list_versions(s, entry_id)]
        notes = version_notes(s, entry_id)
        audit = s.scalar(select(func.count()).where(AuditEntry.object_id == entry_id))
    assert history == [
        (1, "draft", "staff:alice"),
        (2, "review", "staff:alice"),
        (3, "draft", "staff:bob"),
        (4, "draft", "staff:alice"),
        (5, "review", "staff:alice"),
        (6, "published", "staff:bob"),
    ]
    assert notes[3] == {
        "action": "knowledge.reject",
        "key": "wf-1",
        "status": "draft",
        "reason": "Say which documents.",
    }
    assert audit == 6

    do_archive(runtime.uow(), entry_id, actor="staff:alice", role=EDITOR, now=now)
    assert _served(runtime, entry_id) == []
    with pytest.raises(Conflict):
        do_archive(runtime.uow(), entry_id, actor="staff:alice", role=EDITOR, now=now)
    assert do_reopen(runtime.uow(), entry_id, actor="staff:alice", role=EDITOR, now=now).status == "draft"
    assert _served(runtime, entry_id) == []  # archived since its last publication


def test_knowledge_published_version_answers_while_revision_is_drafted(runtime: Runtime) -> None:
    now = runtime.clock.now()
    entry_id = do_save_entry(runtime.uow(), _draft(), actor="staff:admin", role="admin", now=now)
    assert _served(runtime, entry_id) == [(1, "Ask at any branch with your ID.")]
    with runtime.session_factory() as s:
        before = published_signature(s, now)
    do_save_entry(runtime.uow(), _draft(answer="New wording."), actor="staff:alice", role=EDITOR, now=now)
    assert _served(runtime, entry_id) == [(1, "Ask at any branch with your ID.")]  # v2 is a draft
    do_submit_for_review(runtime.uow(), entry_id, actor="staff:alice", role=EDITOR, now=now)
    do_approve(runtime.uow(), entry_id, actor="staff:admin", role="admin", now=now)
    assert _served(runtime, entry_id) == [(4, "New wording.")]
    with runtime.session_factory() as s:
        assert published_signature(s, now) != before
    # An admin's edit of a published entry is published at once (admins may approve their own).
    do_save_entry(runtime.uow(), _draft(answer="Admin wording."), actor="staff:admin", role="admin", now=now)
    assert _served(runtime, entry_id) == [(5, "Admin wording.")]


def test_knowledge_validity_window_filters_answers(runtime: Runtime) -> None:
    now = runtime.clock.now()
    entry_id = do_save_entry(
        runtime.uow(),
        _draft(valid_from=now + timedelta(days=1), valid_until=now + timedelta(days=10)),
        actor="staff:admin",
        role="admin",
        now=now,
    )
    with runtime.session_factory() as s:
        signatures = [published_signature(s, now + timedelta(days=d)) for d in (0, 2, 11)]
    assert _served(runtime, entry_id, now=now) == []
    assert _served(runtime, entry_id, now=now + timedelta(days=2)) == [(1, "Ask at any branch with your ID.")]
    assert _served(runtime, entry_id, now=now + timedelta(days=11)) == []
    assert len(set(signatures)) == 3  # crossing a boundary rebuilds the index without any write


def test_knowledge_rollback_appends_a_version(runtime: Runtime) -> None:
    now = runtime.clock.now()
    entry_id = do_save_entry(
        runtime.uow(), _draft(similar_questions=("safe box",)), actor="staff:admin", role="admin", now=now
    )
    do_save_entry(
        runtime.uow(),
        _draft(answer="Wrong answer.", similar_questions=()),
        actor="staff:admin",
        role="admin",
        now=now,
    )
    entry = do_rollback(runtime.uow(), entry_id, 1, actor="staff:admin", role="admin", now=now)
    assert (entry.version, entry.status, entry.answer, entry.similar_questions) == (
        3,
        "published",
        "Ask at any branch with your ID.",
        ["safe box"],
    )
    assert do_rollback(runtime.uow(), entry_id, 1, actor="staff:admin", role="admin", now=now).version == 3
    entry = do_rollback(runtime.uow(), entry_id, 2, actor="staff:alice", role=EDITOR, now=now)
    assert (entry.version, entry.status, entry.answer) == (4, "draft", "Wrong answer.")
    assert _served(runtime, entry_id) == [(3, "Ask at any branch with your ID.")]
    with runtime.session_factory() as s:
        assert [v.version for v in list_versions(s, entry_id)] == [1, 2, 3, 4]
        assert version_notes(s, entry_id)[4]["from_version"] == 2
