"""Knowledge rules without a database: the workflow state machine, four-eyes, validity, categories, diffs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from caredesk.errors import Conflict, Forbidden, InvalidInput
from caredesk.knowledge.categories import build_category_tree
from caredesk.knowledge.model import (
    EntryDraft,
    EntryStatus,
    Move,
    check_approver,
    check_entry,
    check_requested_status,
    check_transition,
    is_valid_at,
    move_for,
    normalise_category,
    status_after_edit,
)
from caredesk.knowledge.versions import diff_contents

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _draft(**changes: object) -> EntryDraft:
    values: dict[str, object] = dict(
        key="k1", language="en", question="What is X?", answer="X is Y.", content_type="business"
    )
    values.update(changes)
    return EntryDraft(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "move", "target"),
    [
        ("draft", Move.SUBMIT, "review"),
        ("review", Move.APPROVE, "published"),
        ("review", Move.REJECT, "draft"),
        ("published", Move.ARCHIVE, "archived"),
        ("draft", Move.ARCHIVE, "archived"),
        ("archived", Move.REOPEN, "draft"),
    ],
)
def test_knowledge_transition_allowed(current: str, move: Move, target: str) -> None:
    assert check_transition(current, move) == target


@pytest.mark.parametrize(
    ("current", "move"),
    [
        ("draft", Move.APPROVE),
        ("published", Move.APPROVE),
        ("published", Move.SUBMIT),
        ("archived", Move.ARCHIVE),
        ("draft", Move.REJECT),
        ("archived", Move.APPROVE),
        ("review", Move.REOPEN),
    ],
)
def test_knowledge_transition_invalid_is_conflict(current: str, move: Move) -> None:
    with pytest.raises(Conflict) as err:
        check_transition(current, move)
    assert err.value.code == "conflict" and err.value.status == 409


def test_knowledge_move_for_status_change() -> None:
    assert move_for("review", "draft") == Move.REJECT
    assert move_for("archived", "draft") == Move.REOPEN
    with pytest.raises(Conflict):
        move_for("draft", "published")


def test_knowledge_edit_status_follows_role() -> None:
    assert status_after_edit(None, "knowledge_editor") == EntryStatus.DRAFT
    assert status_after_edit("published", "knowledge_editor") == EntryStatus.DRAFT
    assert status_after_edit("published", "admin") == EntryStatus.PUBLISHED
    assert status_after_edit("review", "admin") == EntryStatus.DRAFT
    assert status_after_edit("archived", "admin") == EntryStatus.DRAFT


def test_knowledge_four_eyes() -> None:
    check_approver("staff:b", "knowledge_editor", {"staff:a"})
    check_approver("staff:a", "admin", {"staff:a"})  # admins may approve their own
    with pytest.raises(Forbidden) as err:
        check_approver("staff:a", "knowledge_editor", {"staff:a", "staff:c"})
    assert err.value.details["rule"] == "four_eyes"
    check_requested_status("review", "knowledge_editor")
    with pytest.raises(Forbidden):
        check_requested_status("published", "knowledge_editor")


def test_knowledge_check_entry_fields() -> None:
    check_entry(
        _draft(
            answer_variants={"wechat": "short"},
            valid_from=NOW,
            valid_until=NOW + timedelta(days=1),
            category="cards/credit",
        )
    )
    cases = {
        "valid_until": _draft(valid_from=NOW, valid_until=NOW),
        "answer_fax": _draft(answer_variants={"fax": "x"}),
        "category": _draft(category="cards//credit"),
        "valid_from": _draft(valid_from=datetime(2025, 1, 1)),
        "language": _draft(language="fr"),
        "status": _draft(status="live"),
    }
    for field, draft in cases.items():
        with pytest.raises(InvalidInput) as err:
            check_entry(draft)
        assert err.value.details["field"] == field


def test_knowledge_validity_window_and_category_path() -> None:
    assert is_valid_at(None, None, NOW)
    assert is_valid_at(NOW, None, NOW) and not is_valid_at(NOW, None, NOW - timedelta(seconds=1))
    assert not is_valid_at(None, NOW, NOW) and is_valid_at(None, NOW, NOW - timedelta(seconds=1))
    assert normalise_category(" cards / credit/ ") == "cards/credit"


def test_knowledge_category_tree_counts() -> None:
    tree = build_category_tree(
        [
            ("cards/credit", "published", 3),
            ("cards/debit", "draft", 2),
            ("cards", "published", 1),
            ("", "published", 4),
            ("loans/mortgage/fixed", "archived", 1),
        ]
    ).to_json()
    assert (tree["total"], tree["published"], tree["count"]) == (11, 8, 4)
    cards = tree["children"][0]
    assert (cards["path"], cards["count"], cards["total"], cards["published"]) == ("cards", 1, 6, 4)
    assert [c["path"] for c in cards["children"]] == ["cards/credit", "cards/debit"]
    assert tree["children"][1]["children"][0]["children"][0]["path"] == "loans/mortgage/fixed"


def test_knowledge_diff_fields() -> None:
    a = {
        "question": "Q?",
        "answer": "line one\nline two",
        "similar_questions": ["a", "b"],
        "status": "draft",
        "answer_variants": {"sms": "short"},
        "valid_until": None,
    }
    b = {
        "question": "Q?",
        "answer": "line one\nline 2",
        "similar_questions": ["b", "c"],
        "status": "published",
        "answer_variants": {"sms": "short", "wechat": "wx"},
        "valid_until": NOW,
    }
    changes = {c.field: c.to_json() for c in diff_contents(a, b, ("v1", "v3"))}
    assert set(changes) == {"answer", "similar_questions", "status", "answer_variants.wechat", "valid_until"}
    assert "-line two" in changes["answer"]["diff"] and "+line 2" in changes["answer"]["diff"]
    assert "--- answer@v1" in changes["answer"]["diff"]
    assert (changes["similar_questions"]["added"], changes["similar_questions"]["removed"]) == (["c"], ["a"])
    assert changes["status"] == {"field": "status", "kind": "value", "before": "draft", "after": "published"}
    assert changes["valid_until"]["after"] == NOW.isoformat()
    assert diff_contents(a, a) == []
