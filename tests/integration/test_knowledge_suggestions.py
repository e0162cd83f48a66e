"""Suggested knowledge from questions the bot could not answer: generated from real intake (work orders)
and agent replies, idempotent, accepted into a draft entry or new similar questions, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.errors import Conflict
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.knowledge.suggestion_actions import GenerateReport, do_generate_suggestions
from caredesk.knowledge.suggestion_review import do_accept_suggestion, do_dismiss_suggestion
from caredesk.storage.orm import Conversation, Customer, KnowledgeEntry, KnowledgeSuggestion, Message

SAFE_BOX = [
    "Can I rent a safe deposit box at your branch?",
    "How do I rent a safe deposit box?",
    "Do you offer safe deposit boxes for rent?",
    "What does it cost to rent a safe deposit box?",
]


def _generate(rt: Runtime, now: datetime, days: int = 1, min_size: int = 3) -> GenerateReport:
    index = rt.knowledge_index()  # the process's cached index, as the daily task uses it
    return do_generate_suggestions(rt.uow(), now, days=days, min_size=min_size, index=index)


def _suggestions(rt: Runtime) -> list[KnowledgeSuggestion]:
    with rt.session_factory() as s:
        return list(s.scalars(select(KnowledgeSuggestion).order_by(KnowledgeSuggestion.created_at)))


def test_knowledge_suggests_new_entry_from_unanswered_questions(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    message_ids = []
    for i, text in enumerate(SAFE_BOX):
        outcome = do_receive_message(rt, IncomingMessage(text, "web", f"sg-cust-{i}"))
        assert outcome.decision.kind == "work_order", outcome.decision
        message_ids.append(outcome.message_id)
    do_receive_message(rt, IncomingMessage("Do you sell gold bars?", "web", "sg-other"))
    now = rt.clock.now() + timedelta(seconds=1)

    report = _generate(rt, now, days=1, min_size=3)
    assert (report.created, report.updated) == (1, 0)
    [suggestion] = _suggestions(rt)
    assert (suggestion.kind, suggestion.status, suggestion.size, suggestion.language) == (
        "new_entry",
        "open",
        4,
        "en",
    )
    assert sorted(suggestion.questions) == sorted(SAFE_BOX)
    assert suggestion.message_ids == sorted(message_ids)
    again = _generate(rt, now, days=1, min_size=3)
    assert (again.created, again.updated) == (0, 0) and len(_suggestions(rt)) == 1  # idempotent

    # A fifth customer asks: the open suggestion grows instead of a duplicate appearing.
    fifth = do_receive_message(
        rt, IncomingMessage("I would like to rent a safe deposit box", "web", "sg-cust-9")
    )
    assert fifth.decision.kind == "work_order"
    grown = _generate(rt, rt.clock.now() + timedelta(hours=1), days=1, min_size=3)
    assert (grown.created, grown.updated) == (0, 1)
    [suggestion] = _suggestions(rt)
    assert fifth.message_id in suggestion.message_ids and suggestion.size == 5

    entry_id = do_accept_suggestion(
        rt.uow(),
        suggestion.id,
        actor="staff:editor",
        role="knowledge_editor",
        now=now,
        answer="Safe deposit boxes are rented at our city branches.",
        category="branch/services",
    )
    with rt.session_factory() as s:
        entry = s.get(KnowledgeEntry, entry_id)
        assert entry is not None
        assert (entry.status, entry.version, entry.language, entry.category) == (
            "draft",
            1,
            "en",
            "branch/services",
        )
        assert {entry.question, *entry.similar_questions} == set(suggestion.questions)
        decided = s.get(KnowledgeSuggestion, suggestion.id)
        assert decided is not None and (decided.status, decided.decided_by) == ("accepted", "staff:editor")
    try:
        do_accept_suggestion(
            rt.uow(), suggestion.id, actor="staff:editor", role="knowledge_editor", now=now, answer="again"
        )
        raise AssertionError("accepted twice")
    except Conflict:
        pass
    final = _generate(rt, now + timedelta(days=1), days=2, min_size=3)
    assert final.created == 0  # decided questions are not suggested again


def test_knowledge_suggests_similar_questions_from_agent_answers(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    now = rt.clock.now()
    with rt.session_factory() as s:
        target = s.scalars(
            select(KnowledgeEntry).where(KnowledgeEntry.key == "en-login-password-reset")
        ).one()
        target_id, target_question = target.id, target.question
    texts = [f"{target_question} (asked by customer {i})" for i in range(3)]
    outcome_ids = []
    with rt.uow() as uow:  # chats that went straight to an agent, who answered by hand
        for i, text in enumerate(texts):
            customer = Customer(ref=f"sg-agent-{i}", created_at=now)
            uow.session.add(customer)
            uow.session.flush()
            conversation = Conversation(
                customer_id=customer.id, channel="chat", created_at=now, last_message_at=now
            )
            uow.session.add(conversation)
            uow.session.flush()
            asked = Message(
                conversation_id=conversation.id,
                direction="in",
                author="customer",
                text=text,
                text_masked=text,
                language="en",
                created_at=now + timedelta(seconds=i),
            )
            uow.session.add(asked)
            uow.session.add(
                Message(
                    conversation_id=conversation.id,
                    direction="out",
                    author="agent",
                    text="Let me help you with that.",
                    text_masked="Let me help you with that.",
                    language="en",
                    created_at=now + timedelta(seconds=5 + i),
                )
            )
            uow.session.flush()
            outcome_ids.append(asked.id)
        uow.commit()
    report = _generate(rt, now + timedelta(minutes=1), days=1, min_size=3)
    assert report.created == 1
    [suggestion] = [s for s in _suggestions(rt) if set(outcome_ids) <= set(s.message_ids)]
    assert (suggestion.kind, suggestion.entry_id) == ("similar_questions", target_id)

    do_accept_suggestion(
        rt.uow(), suggestion.id, actor="staff:admin", role="admin", now=now, questions=texts[:2]
    )
    with rt.session_factory() as s:
        entry = s.get(KnowledgeEntry, target_id)
        assert entry is not None and entry.status == "published" and entry.version == 2
        assert entry.similar_questions[-2:] == texts[:2]


def test_knowledge_dismissed_suggestion_is_not_suggested_again(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    for i, text in enumerate(["保管箱怎么租", "你们有保管箱租赁服务吗", "保管箱租用需要什么手续"]):
        assert (
            do_receive_message(rt, IncomingMessage(text, "web", f"sg-zh-{i}")).decision.kind == "work_order"
        )
    now = rt.clock.now() + timedelta(seconds=1)
    assert _generate(rt, now, min_size=3).created == 1
    [suggestion] = _suggestions(rt)
    assert suggestion.language == "zh"
    do_dismiss_suggestion(rt.uow(), suggestion.id, actor="staff:editor", now=now, reason="seasonal")
    assert _generate(rt, now, min_size=3).created == 0
    assert _suggestions(rt)[0].status == "dismissed"
