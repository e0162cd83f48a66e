"""The process's knowledge index re-reads the published entries' signature at most every
`kb_freshness_seconds` (runtime's clock): a publish answers customers within that time, not later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.knowledge.actions import do_approve, do_save_entry, do_submit_for_review
from caredesk.knowledge.model import EntryDraft

EDITOR = "knowledge_editor"


def _publish(rt: Runtime, key: str) -> str:
    now = rt.clock.now()
    draft = EntryDraft(key=key, language="en", question="How do I rent a safe deposit box?",
                       answer="Ask at any branch with your ID.", content_type="business", category="branch/services")
    entry_id = do_save_entry(rt.uow(), draft, actor="staff:alice", role=EDITOR, now=now)
    do_submit_for_review(rt.uow(), entry_id, actor="staff:alice", role=EDITOR, now=now)
    do_approve(rt.uow(), entry_id, actor="staff:bob", role=EDITOR, now=now)
    return entry_id


def test_kb_freshness_publish_answers_within_the_ttl(runtime: Runtime) -> None:
    clock = FrozenClock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    runtime.clock = clock
    runtime.settings = runtime.settings.model_copy(update={"kb_freshness_seconds": 2.0})
    first = _publish(runtime, "fresh-1")
    assert runtime.knowledge_index().get(first) is not None  # the first read builds the index
    clock.advance(timedelta(milliseconds=500))
    second = _publish(runtime, "fresh-2")
    assert runtime.knowledge_index().get(second) is None  # within the TTL: the last signature still holds
    clock.advance(timedelta(milliseconds=1500))  # 2 s after the read
    index = runtime.knowledge_index()
    assert index.get(second) is not None and index.get(first) is not None


def test_kb_freshness_zero_reads_the_signature_every_time(runtime: Runtime) -> None:
    runtime.clock = FrozenClock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    runtime.settings = runtime.settings.model_copy(update={"kb_freshness_seconds": 0.0})
    runtime.knowledge_index()
    entry_id = _publish(runtime, "fresh-0")
    assert runtime.knowledge_index().get(entry_id) is not None  # same instant, no TTL: seen at once
