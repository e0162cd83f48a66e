"""The knowledge pages' pure helpers: which version answers customers, which moves a role is offered, and how a
unified diff is split into lines to colour."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from caredesk.knowledge.versions import diff_contents
from caredesk.web.knowledge_queries import _classify, answering_version, move_options


def _versions(*statuses: str) -> list[Any]:
    return [SimpleNamespace(version=n, status=s) for n, s in enumerate(statuses, 1)]


def test_answering_version_follows_load_published() -> None:
    def answering(status: str, *history: str) -> int | None:
        found = answering_version(status, _versions(*history))
        return None if found is None else found.version

    assert answering("published", "draft", "published") == 2
    assert answering("draft", "published", "draft") == 1  # the revision waits for approval
    assert answering("review", "published", "draft", "review") == 1
    assert answering("draft", "published", "archived", "draft") is None  # archived since
    assert answering("draft", "draft") is None
    assert answering("archived", "published", "archived") is None
    assert answering("published") is None


def test_move_options_by_status_role_and_four_eyes() -> None:
    def moves(status: str, role: str, authors: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        return [(m.move, m.blocked[:9]) for m in move_options(status, role, "staff:me", set(authors))]

    assert moves("draft", "knowledge_editor") == [("submit", ""), ("archive", "")]
    assert moves("review", "knowledge_editor", ("staff:other",)) == [("approve", ""), ("reject", ""),
                                                                      ("archive", "")]
    assert moves("review", "knowledge_editor", ("staff:me",))[0] == ("approve", "four-eyes")
    assert moves("review", "admin", ("staff:me",))[0] == ("approve", "")  # admins may approve their own
    assert moves("archived", "admin") == [("reopen", "")]
    assert moves("published", "knowledge_editor") == [("archive", "")]
    assert moves("review", "agent") == [] and moves("draft", "auditor") == []


def test_classify_splits_a_unified_diff_into_coloured_lines() -> None:
    [change] = diff_contents({"answer": "one\ntwo\nthree"}, {"answer": "one\n2\nthree"}, ("v1", "v2"))
    lines = [(line.kind, line.text) for line in _classify(change.diff)]
    assert lines == [("hunk", "@@ -1,3 +1,3 @@"), ("same", "one"), ("del", "two"), ("add", "2"), ("same", "three")]
