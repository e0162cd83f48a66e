"""The seed method's decision: emergency, answer from the knowledge base, or work order."""

from __future__ import annotations

import pytest

from caredesk.intake.decision import Decision, DecisionKind, DecisionPolicy, decide, needs_emergency
from caredesk.knowledge.match import KbMatch
from caredesk.triage.doc import LabelScore, TriageDoc

POLICY = DecisionPolicy(emergency_urgency=frozenset({"urgent"}), kb_threshold=0.55)


def doc(urgency: str = "general", confidence: float = 0.9) -> TriageDoc:
    return TriageDoc(text="x", masked="x", language="zh", labels={
        "content_type": LabelScore("business", 0.8), "problem_type": LabelScore("consultation", 0.8),
        "urgency": LabelScore(urgency, confidence)})


def match(score: float) -> KbMatch:
    return KbMatch(entry_id="kb1", version=2, score=score, question="怎么挂失？", answer="请拨打客服热线挂失。")


def test_decision_urgent_is_emergency_even_with_a_perfect_match() -> None:
    decision = decide(doc("urgent", 0.97), match(1.0), POLICY)
    assert decision.kind == DecisionKind.EMERGENCY
    assert decision.match is None
    assert "urgent" in decision.reason and "0.97" in decision.reason
    assert needs_emergency(doc("urgent"), POLICY)


@pytest.mark.parametrize("urgency", ["general", "attention"])
def test_decision_not_urgent_is_no_emergency(urgency: str) -> None:
    assert not needs_emergency(doc(urgency), POLICY)
    assert decide(doc(urgency), match(0.9), POLICY).kind == DecisionKind.ANSWER


def test_decision_condition_is_configuration() -> None:
    wider = DecisionPolicy(frozenset({"urgent", "attention"}), 0.55)
    assert needs_emergency(doc("attention"), wider)
    assert decide(doc("attention"), match(0.9), wider).kind == DecisionKind.EMERGENCY
    none = DecisionPolicy(frozenset(), 0.55)
    assert decide(doc("urgent"), match(0.9), none).kind == DecisionKind.ANSWER


def test_decision_answer_at_or_above_threshold_keeps_the_match() -> None:
    decision = decide(doc(), match(0.55), POLICY)  # exactly at the threshold answers
    assert decision == Decision(DecisionKind.ANSWER, "knowledge match 0.55 >= 0.55", match(0.55))
    assert decide(doc(), match(0.8), POLICY).match == match(0.8)


def test_decision_below_threshold_opens_work_order_with_the_near_miss() -> None:
    decision = decide(doc(), match(0.5499), POLICY)
    assert decision.kind == DecisionKind.WORK_ORDER
    assert decision.match == match(0.5499)  # kept for the agent as a suggestion
    assert "< 0.55" in decision.reason


def test_decision_no_candidate_opens_work_order() -> None:
    decision = decide(doc(), None, POLICY)
    assert (decision.kind, decision.match) == (DecisionKind.WORK_ORDER, None)
    assert "no knowledge entry" in decision.reason


def test_decision_threshold_is_configuration() -> None:
    strict = DecisionPolicy(frozenset({"urgent"}), 0.9)
    assert decide(doc(), match(0.85), strict).kind == DecisionKind.WORK_ORDER
    assert decide(doc(), match(0.9), strict).kind == DecisionKind.ANSWER
