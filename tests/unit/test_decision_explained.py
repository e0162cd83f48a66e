"""The decision's exact explanations (agents read them on the order) and the clarification's margin, options
and tie-breaks at unit level; the policy as the settings give it."""

from __future__ import annotations

from caredesk.intake.decision import Decision, DecisionKind, DecisionPolicy, KbMatch, decide
from caredesk.settings import Settings
from caredesk.triage.doc import LabelScore, TriageDoc

# Margins and scores that binary floating point holds exactly, so that "within the margin" is tested at its edge.
POLICY = DecisionPolicy(frozenset({"urgent"}), kb_threshold=0.5, clarify_margin=0.125, clarify_max_options=3,
                        emergency_min_confidence=0.75)


def doc(urgency: str = "general", confidence: float = 0.9, reasons: tuple[str, ...] = (), **extra: object
        ) -> TriageDoc:
    d = TriageDoc(text="x", masked="x", language="zh", labels={"urgency": LabelScore(urgency, confidence,
                                                                                     reasons=reasons)})
    for key, value in extra.items():
        setattr(d, key, value)
    return d


def m(entry_id: str, score: float) -> KbMatch:
    return KbMatch(entry_id, 1, score, f"q {entry_id}", f"a {entry_id}")


def test_decision_policy_of_takes_every_setting() -> None:
    settings = Settings(environment="test", emergency_urgency=["urgent", "attention"], kb_threshold=0.6,
                        kb_clarify_margin=0.05, kb_clarify_max_options=4, emergency_min_confidence=0.7)
    assert DecisionPolicy.of(settings) == DecisionPolicy(frozenset({"urgent", "attention"}), 0.6, 0.05, 4, 0.7)


def test_decision_emergency_reason_names_the_hard_rules() -> None:
    decision = decide(doc("urgent", 0.2, hard_rules=["fraud", "self_harm"]), None, POLICY)
    assert decision == Decision(DecisionKind.EMERGENCY,
                                "hard rule fraud, self_harm: urgency urgent starts the linked response")


def test_decision_emergency_reason_names_the_urgency_rule_when_one_fired() -> None:
    with_rule = decide(doc("urgent", 0.97, reasons=("word:被盗", "rule:stolen_card")), None, POLICY)
    assert with_rule.reason == "urgency urgent (0.97 >= 0.75, stolen_card) meets the linked-response condition"
    without = decide(doc("urgent", 0.97, reasons=("word:被盗",)), None, POLICY)
    assert without.reason == "urgency urgent (0.97 >= 0.75) meets the linked-response condition"


def test_decision_handoff_reason_alone_or_with_the_held_emergency() -> None:
    plain = decide(doc(handoff=True), m("kb1", 0.9), POLICY)
    assert plain == Decision(DecisionKind.HANDOFF, "the customer asked for a person")
    held = decide(doc("urgent", 0.5, handoff=True), m("kb1", 0.9), POLICY)
    assert held == Decision(DecisionKind.HANDOFF, "the customer asked for a person; urgency urgent at 0.50 < 0.75: "
                                                  "a lead confirms before the emergency response starts",
                            confirm_emergency=True)


def test_decision_unconfirmed_urgent_reason() -> None:
    assert decide(doc("urgent", 0.5), m("kb1", 0.9), POLICY) == Decision(
        DecisionKind.WORK_ORDER, "urgency urgent at 0.50 < 0.75: a lead confirms before the emergency response starts",
        confirm_emergency=True)


def test_decision_out_of_scope_reason_names_its_rule_or_the_default() -> None:
    named = decide(doc(out_of_scope=True, rules=["urgent:x", "out_of_scope:greeting"]), None, POLICY)
    assert named == Decision(DecisionKind.ANSWER, "not a customer-service message (out_of_scope:greeting): asked to "
                                                  "clarify", out_of_scope=True)
    unnamed = decide(doc(out_of_scope=True), None, POLICY)
    assert unnamed.reason == "not a customer-service message (out_of_scope): asked to clarify"


def test_decision_no_match_reason() -> None:
    assert decide(doc(), None, POLICY) == Decision(DecisionKind.WORK_ORDER,
                                                   "no knowledge entry for this content and problem type")


def test_decision_clarify_margin_is_exclusive() -> None:
    best = m("kb1", 0.75)
    at_margin = decide(doc(), best, POLICY, runners_up=[m("kb2", 0.625)])  # exactly 0.125 below: not close
    assert at_margin == Decision(DecisionKind.ANSWER, "knowledge match 0.75 >= 0.50", best)
    inside = decide(doc(), best, POLICY, runners_up=[m("kb2", 0.6875)])
    assert inside.clarify == (best, m("kb2", 0.6875))


def test_decision_clarify_reason_counts_and_scores_the_options() -> None:
    best = m("kb1", 0.75)
    decision = decide(doc(), best, POLICY, runners_up=[m("kb2", 0.6875), m("kb3", 0.65625)])
    assert decision == Decision(DecisionKind.ANSWER, "clarifying question: 3 knowledge matches (0.75, 0.69, 0.66) "
                                                     "within 0.12 of each other", None,
                                (best, m("kb2", 0.6875), m("kb3", 0.65625)))


def test_decision_clarify_options_are_capped_best_first_and_skip_the_best_again() -> None:
    best = m("kb1", 0.75)
    runners = [m("kb1", 0.75), m("kb2", 0.71875), m("kb3", 0.6875), m("kb4", 0.65625)]
    assert decide(doc(), best, POLICY, runners_up=runners).clarify == (best, m("kb2", 0.71875), m("kb3", 0.6875))
    one = DecisionPolicy(frozenset({"urgent"}), 0.5, 0.125, clarify_max_options=1)
    assert decide(doc(), best, one, runners_up=runners) == Decision(DecisionKind.ANSWER,
                                                                    "knowledge match 0.75 >= 0.50", best)
