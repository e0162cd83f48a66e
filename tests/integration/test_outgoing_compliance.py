"""The outgoing compliance check inside the intake, on SQLite and PostgreSQL: a knowledge answer that
promises guaranteed returns never reaches the customer (a work order takes the message, with the reason),
a warned answer is sent with the warning recorded, and a rules file of the bank's own replaces the defaults."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.compliance.outgoing import load_checker
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.intake.decision import DecisionKind
from caredesk.knowledge.actions import do_save_entries
from caredesk.knowledge.model import EntryDraft
from caredesk.storage.orm import Message, TriageResult, WorkOrder, WorkOrderEvent

QUESTION = "What is the return on your Wealth Plus product?"
BLOCKED_ANSWER = "Wealth Plus pays 4.2% a year, a guaranteed return: 保本保息，稳赚不赔."
WARNED_ANSWER = "Wealth Plus is absolutely safe and pays 4.2% a year."
CLEAN_ANSWER = "Wealth Plus has paid 4.2% a year in the past; returns are not guaranteed."


def publish(rt: Runtime, answer: str) -> None:
    doc = rt.triage(QUESTION)
    do_save_entries(rt.uow(), [EntryDraft(
        key="wealth-plus", language="en", question=QUESTION, similar_questions=("Wealth Plus interest rate",),
        answer=answer, content_type=doc.label("content_type").label, problem_type=doc.label("problem_type").label,
        status="published")], actor="test", now=rt.clock.now())


def ask(rt: Runtime, ref: str = "cust-wealth"):  # type: ignore[no-untyped-def]
    return do_receive_message(rt, IncomingMessage(QUESTION, "web", ref))


def test_a_blocked_knowledge_answer_is_not_sent_and_goes_to_a_work_order(runtime: Runtime) -> None:
    publish(runtime, BLOCKED_ANSWER)
    outcome = ask(runtime)
    assert outcome.outgoing is not None and outcome.outgoing.blocked
    assert outcome.decision.kind == DecisionKind.WORK_ORDER
    assert outcome.reply_text != BLOCKED_ANSWER and outcome.work_order_id
    assert outcome.decision.match is not None and outcome.decision.match.answer == BLOCKED_ANSWER
    with runtime.session_factory() as s:
        sent = list(s.scalars(select(Message).where(Message.conversation_id == outcome.conversation_id,
                                                    Message.direction == "out")))
        assert all("保本保息" not in m.text and "guaranteed return" not in m.text for m in sent)  # never sent
        triage = s.scalar(select(TriageResult).where(TriageResult.message_id == outcome.message_id))
        assert triage is not None and triage.decision_kind == "work_order"
        assert triage.decision_reason.startswith("outgoing compliance blocked the reply: guaranteed_returns (")
        check = triage.explanation["outgoing_check"]
        assert check["action"] == "block"
        assert {h["term"] for h in check["hits"]} == {"guaranteed return", "保本保息", "稳赚不赔"}
        order = s.get(WorkOrder, outcome.work_order_id)
        assert order is not None
        opened = s.scalar(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id)
                          .order_by(WorkOrderEvent.id).limit(1))
        assert opened is not None and "outgoing compliance blocked the reply" in str(opened.data)


def test_a_warned_answer_is_sent_with_the_warning_recorded(runtime: Runtime) -> None:
    publish(runtime, WARNED_ANSWER)
    outcome = ask(runtime)
    assert outcome.decision.kind == DecisionKind.ANSWER and outcome.reply_text == WARNED_ANSWER
    assert outcome.outgoing is not None and outcome.outgoing.action == "warn"
    with runtime.session_factory() as s:
        reply = s.get(Message, outcome.reply_message_id)
        assert reply is not None and reply.text == WARNED_ANSWER
        triage = s.scalar(select(TriageResult).where(TriageResult.message_id == outcome.message_id))
        assert triage is not None and triage.explanation["outgoing_check"]["hits"][0]["rule"] == "absolute_claims"


def test_a_clean_answer_is_sent_and_nothing_is_recorded(runtime: Runtime) -> None:
    publish(runtime, CLEAN_ANSWER)
    outcome = ask(runtime)
    assert outcome.reply_text == CLEAN_ANSWER and outcome.outgoing is not None
    assert outcome.outgoing.action == "pass"
    with runtime.session_factory() as s:
        triage = s.scalar(select(TriageResult).where(TriageResult.message_id == outcome.message_id))
        assert triage is not None and "outgoing_check" not in triage.explanation


def test_the_banks_own_rules_file_replaces_the_defaults(runtime: Runtime, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: past_performance\n    action: block\n    reason: no past performance\n"
                     "    terms: [has paid]\n", encoding="utf-8")
    configured = build_runtime(runtime.settings.model_copy(update={"outgoing_rules_path": rules}),
                               make_current=False)  # CAREDESK_OUTGOING_RULES_PATH
    try:
        assert [r.id for r in configured.outgoing.rules] == ["past_performance"]
    finally:
        configured.engine.dispose()
    runtime.outgoing = load_checker(rules)
    publish(runtime, CLEAN_ANSWER)
    outcome = ask(runtime)
    assert outcome.decision.kind == DecisionKind.WORK_ORDER and outcome.reply_text != CLEAN_ANSWER
    assert "past_performance (has paid)" in outcome.decision.reason

