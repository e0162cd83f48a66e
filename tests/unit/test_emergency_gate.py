"""The emergency gate and the decisions beside it: confidence or a hard rule starts the emergency response; a
low-confidence urgent label waits for a lead; a request for a person is a hand-off; a message that is no
customer-service message gets a clarifying reply; a customer's external threat gathers the complaint roster."""

from __future__ import annotations

from caredesk.emergency.roster import COMPLAINT_ESCALATION, response_roster
from caredesk.intake.decision import DecisionKind, DecisionPolicy, decide, needs_emergency
from caredesk.knowledge.match import KbMatch
from caredesk.triage.context import PriorTurn, in_context
from caredesk.triage.doc import LabelScore, TriageDoc

POLICY = DecisionPolicy(frozenset({"urgent"}), kb_threshold=0.55, emergency_min_confidence=0.75)
MATCH = KbMatch("kb1", 1, 0.9, "怎么挂失？", "请拨打95000挂失。")


def doc(urgency: str = "general", confidence: float = 0.9, **extra: object) -> TriageDoc:
    d = TriageDoc(text="x", masked="x", language="zh", labels={
        "content_type": LabelScore("business", 0.8), "problem_type": LabelScore("complaint", 0.8),
        "urgency": LabelScore(urgency, confidence, (("urgent", confidence), ("attention", 1 - confidence)))})
    for key, value in extra.items():
        setattr(d, key, value)
    return d


def test_gate_confident_urgent_starts_the_emergency() -> None:
    decision = decide(doc("urgent", 0.9), MATCH, POLICY)
    assert decision.kind == DecisionKind.EMERGENCY and "0.90 >= 0.75" in decision.reason


def test_gate_low_confidence_urgent_waits_for_a_lead() -> None:
    d = doc("urgent", 0.4)
    assert not needs_emergency(d, POLICY)
    decision = decide(d, MATCH, POLICY)
    assert decision.kind == DecisionKind.WORK_ORDER and decision.confirm_emergency
    assert "0.40 < 0.75" in decision.reason and "lead confirms" in decision.reason


def test_gate_hard_rule_starts_the_emergency_at_any_confidence() -> None:
    decision = decide(doc("urgent", 0.3, hard_rules=["self_harm"]), None, POLICY)
    assert decision.kind == DecisionKind.EMERGENCY and "self_harm" in decision.reason


def test_gate_threshold_edge_is_inclusive() -> None:
    assert needs_emergency(doc("urgent", 0.75), POLICY)
    assert not needs_emergency(doc("urgent", 0.7499), POLICY)
    assert not needs_emergency(doc("attention", 0.99, hard_rules=["fraud"]), POLICY)


def test_decision_handoff_and_out_of_scope() -> None:
    handoff = decide(doc(handoff=True), MATCH, POLICY)
    assert handoff.kind == DecisionKind.HANDOFF and not handoff.confirm_emergency
    urgent_handoff = decide(doc("urgent", 0.5, handoff=True), MATCH, POLICY)
    assert urgent_handoff.kind == DecisionKind.HANDOFF and urgent_handoff.confirm_emergency
    oos = decide(doc(out_of_scope=True, rules=["out_of_scope:markup"]), MATCH, POLICY)
    assert oos.kind == DecisionKind.ANSWER and oos.out_of_scope and oos.match is None
    assert "markup" in oos.reason


def test_roster_fits_the_problem() -> None:
    assert response_roster("business", ["regulator"], []) == COMPLAINT_ESCALATION
    assert response_roster("system", ["media", "lawsuit"], []) == COMPLAINT_ESCALATION
    assert response_roster("business", ["regulator"], ["fraud"]) == "business"  # fraud: the incident team
    assert response_roster("system", [], []) == "system"
    assert response_roster("business", ["compensation"], []) == "business"


def test_context_third_complaint_is_repeated_and_needs_attention() -> None:
    history = [PriorTurn("general", "angry", 1), PriorTurn("attention", "angry", 1)]
    d = doc("general", 0.9, complaint_level=1, complaint_types=[])
    d.emotion = LabelScore("neutral", 0.7)
    out = in_context(d, history)
    assert "repeated" in out.complaint_types and out.complaint_level == 2
    assert out.emotion.label == "angry" and out.label("urgency").label == "attention"
    first = in_context(doc("general", 0.9, complaint_level=1, complaint_types=[]), history[:1])
    assert first.complaint_types == [] and first.label("urgency").label == "general"
