"""A clarifying question over two turns through `do_receive_message`, on SQLite and PostgreSQL: the customer's
ambiguous question gets the options, the reply picks one, the answer records that entry's version."""

from __future__ import annotations

from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.intake.decision import DecisionKind
from caredesk.knowledge.actions import do_save_entries
from caredesk.knowledge.model import EntryDraft
from caredesk.storage.orm import Conversation, KnowledgeEntry, Message, TriageResult

AMBIGUOUS = "I forgot my card PIN"
DEBIT = ("How do I reset my debit card PIN?", ("I forgot my debit card PIN",),
         "Reset your debit card PIN at any ATM of ours or in the app under Cards > PIN.")
CREDIT = ("How do I reset my credit card PIN?", ("I forgot my credit card PIN",),
          "Reset your credit card PIN in the app under Credit card > Security > PIN.")


def _seed(rt: Runtime, text: str, *entries: tuple[str, tuple[str, ...], str], language: str = "en") -> list[str]:
    """Publish the entries with the content and problem type that triage gives `text` (so filters keep them)."""
    doc = rt.triage(text)
    drafts = [EntryDraft(key=f"clarify-{n}", language=language, question=q, similar_questions=sims, answer=a,
                         content_type=doc.label("content_type").label, problem_type=doc.label("problem_type").label,
                         status="published") for n, (q, sims, a) in enumerate(entries, 1)]
    do_save_entries(rt.uow(), drafts, actor="test", now=rt.clock.now())
    with rt.session_factory() as s:
        by_key = {e.key: e.id for e in s.scalars(select(KnowledgeEntry))}
    return [by_key[d.key] for d in drafts]


def _say(rt: Runtime, text: str, conversation_id: str | None = None):  # type: ignore[no-untyped-def]
    return do_receive_message(rt, IncomingMessage(text, "web", "cust-clarify", conversation_id))


def _pending(rt: Runtime, conversation_id: str) -> dict | None:  # type: ignore[type-arg]
    with rt.session_factory() as s:
        return s.get(Conversation, conversation_id).pending_clarification  # type: ignore[union-attr]


def test_clarification_resolves_over_two_turns(runtime: Runtime) -> None:
    debit_id, credit_id = _seed(runtime, AMBIGUOUS, DEBIT, CREDIT)
    first = _say(runtime, AMBIGUOUS)
    assert first.decision.kind == DecisionKind.ANSWER and first.decision.match is None
    assert {o.entry_id for o in first.clarification} == {debit_id, credit_id}
    assert [o.index for o in first.clarification] == [1, 2]
    assert first.reply_text and first.reply_text.startswith("Which of these do you mean?")
    pending = _pending(runtime, first.conversation_id)
    assert pending and [o["entry_id"] for o in pending["options"]] == [o.entry_id for o in first.clarification]

    second_option = first.clarification[1]
    # the entry changes after the question was asked: the answer comes from the version published now
    do_save_entries(runtime.uow(), [EntryDraft(
        key="clarify-1" if second_option.entry_id == debit_id else "clarify-2", language="en",
        question=second_option.question, similar_questions=(DEBIT if second_option.entry_id == debit_id
                                                            else CREDIT)[1],
        answer="Updated: reset the PIN in the app.", content_type=runtime.triage(AMBIGUOUS).label(
            "content_type").label, problem_type=runtime.triage(AMBIGUOUS).label("problem_type").label,
        status="published")], actor="test", now=runtime.clock.now())

    reply = _say(runtime, "2", first.conversation_id)
    assert reply.decision.kind == DecisionKind.ANSWER and reply.clarification == ()
    assert reply.decision.match and reply.decision.match.entry_id == second_option.entry_id
    assert reply.decision.match.version == 2 and reply.reply_text == "Updated: reset the PIN in the app."
    assert _pending(runtime, first.conversation_id) is None
    with runtime.session_factory() as s:
        triage = s.scalar(select(TriageResult).where(TriageResult.message_id == reply.message_id))
        assert triage and (triage.answer_entry_id, triage.answer_version) == (second_option.entry_id, 2)
        assert triage.decision_kind == "answer" and "chose option 2" in triage.decision_reason
        texts = [m.text for m in s.scalars(select(Message).where(Message.conversation_id == first.conversation_id)
                                          .order_by(Message.created_at, Message.id))]
        assert len(texts) == 4 and texts[-1] == "Updated: reset the PIN in the app."


def test_clarification_reply_in_words_or_a_new_question(runtime: Runtime) -> None:
    debit_id, credit_id = _seed(runtime, AMBIGUOUS, DEBIT, CREDIT)
    first = _say(runtime, AMBIGUOUS)
    assert len(first.clarification) == 2
    by_words = _say(runtime, "the credit card", first.conversation_id)
    assert by_words.decision.match and by_words.decision.match.entry_id == credit_id
    assert _pending(runtime, first.conversation_id) is None

    again = _say(runtime, AMBIGUOUS, first.conversation_id)
    assert len(again.clarification) == 2 and _pending(runtime, first.conversation_id)
    unrelated = _say(runtime, "My branch manager was rude and I want to complain formally", first.conversation_id)
    assert unrelated.clarification == () and _pending(runtime, first.conversation_id) is None
    assert not (unrelated.decision.match and unrelated.decision.match.entry_id in {debit_id, credit_id}
                and unrelated.decision.kind == DecisionKind.ANSWER and "chose option" in unrelated.decision.reason)


def test_clear_question_is_answered_without_clarification(runtime: Runtime) -> None:
    debit_id, _ = _seed(runtime, AMBIGUOUS, DEBIT, CREDIT)
    out = _say(runtime, "How do I reset my debit card PIN?")
    assert out.clarification == () and out.decision.match and out.decision.match.entry_id == debit_id


def test_english_question_answered_by_a_chinese_only_entry(runtime: Runtime) -> None:
    text = "How do I activate my new credit card?"
    (entry_id,) = _seed(runtime, text, ("新办的信用卡怎么激活？", ("信用卡开卡", "收到信用卡怎么激活"),
                                         "请在手机银行“信用卡-激活”中完成激活。"), language="zh")
    out = _say(runtime, text)
    # the ranking crosses languages; whether it answers or hands off is the calibration's call (demo KB:
    # 78% top-1 from English to Chinese), so only the match is asserted
    assert out.decision.match and out.decision.match.entry_id == entry_id
    with runtime.session_factory() as s:  # the index build stored the entry's question embeddings
        assert s.get(KnowledgeEntry, entry_id).embedding  # type: ignore[union-attr]
