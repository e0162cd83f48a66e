"""A fraud, theft or threat phrase past a long text's opening (mentioned in passing as often as meant) never
starts the emergency response by itself: it makes the label urgent with the model's confidence and the gate
decides (below it, a lead), and below CORROBORATE_BELOW it changes nothing. The opening (the first LONG_TEXT
characters) is read as a short message is, and a short message is about the one thing it says: there the
phrase is a hard rule whatever the model gives."""

from __future__ import annotations

import pytest

from caredesk.intake.decision import DecisionPolicy, needs_emergency
from caredesk.triage.components.lexicon_rules import (
    CORROBORATE_BELOW,
    LONG_TEXT,
    make_lexicon_rules,
)
from caredesk.triage.doc import LabelScore, TriageDoc

POLICY = DecisionPolicy(frozenset({"urgent"}), kb_threshold=0.55, emergency_min_confidence=0.75)
FRAUD_NARRATIVE = ("i called the servicer about the late fee on my statement and the agent said the fee was "
                   "correct, then i asked for the payment history and the escrow statement for last year, they "
                   "sent nothing, i told them it looked like fraud to me and now they added another fee")
THREAT_NARRATIVE = ("i have written to the servicer three times about the escrow shortage they made up and the "
                    "payment they applied to the wrong month, if this is not corrected i will have my lawyer "
                    "handle it from here on")
THEFT_EMAIL = ("hello, someone stole my bag with my phone and my wallet with both of your cards this morning, "
               "please block them at once. i am abroad until next week and will need new cards sent to my hotel, "
               "the address is below.")


def _triaged(text: str, p_urgent: float) -> TriageDoc:
    ranking = (("attention", 1 - p_urgent), ("urgent", p_urgent))
    top = max(ranking, key=lambda r: r[1])
    doc = TriageDoc(text=text, normalized=text, masked=text, language="en", labels={
        "content_type": LabelScore("business", 0.9), "problem_type": LabelScore("complaint", 0.9),
        "urgency": LabelScore(top[0], top[1], ranking)})
    return make_lexicon_rules()(doc)


def test_the_narratives_are_long_texts() -> None:
    assert len(FRAUD_NARRATIVE) >= LONG_TEXT and len(THREAT_NARRATIVE) >= LONG_TEXT and len(THEFT_EMAIL) >= LONG_TEXT
    assert FRAUD_NARRATIVE.index("fraud") >= LONG_TEXT > THEFT_EMAIL.index("stole")
    assert CORROBORATE_BELOW < 0.4 < POLICY.emergency_min_confidence < 0.8


@pytest.mark.parametrize(("p_urgent", "label", "emergency", "rule"), [
    (0.1, "attention", False, "uncorroborated:fraud:fraud"),
    (0.4, "urgent", False, "unconfirmed:fraud:fraud"),
    (0.8, "urgent", True, "unconfirmed:fraud:fraud"),  # the gate's own confidence, not the phrase
])
def test_a_fraud_phrase_in_a_long_narrative_needs_the_model(p_urgent: float, label: str, emergency: bool,
                                                            rule: str) -> None:
    doc = _triaged(FRAUD_NARRATIVE, p_urgent)

    assert doc.label("urgency").label == label
    assert needs_emergency(doc, POLICY) is emergency
    assert doc.hard_rules == []
    assert doc.label("urgency").confidence == pytest.approx(p_urgent if label == "urgent" else 1 - p_urgent)
    assert rule in doc.rules


def test_a_theft_in_a_long_texts_opening_is_a_hard_rule_at_any_confidence() -> None:
    doc = _triaged(THEFT_EMAIL, 0.1)

    assert doc.hard_rules == ["theft"] and doc.label("urgency").confidence == 1.0
    assert needs_emergency(doc, POLICY)


def test_the_same_phrase_in_a_short_message_is_a_hard_rule_at_any_confidence() -> None:
    doc = _triaged("this charge is fraud, freeze my card", 0.1)

    assert doc.hard_rules == ["fraud"] and doc.label("urgency").confidence == 1.0
    assert needs_emergency(doc, POLICY)


@pytest.mark.parametrize(("p_urgent", "confidence", "emergency"), [(0.4, 0.4, False), (0.8, 0.8, True)])
def test_a_lawsuit_threat_in_a_long_narrative_is_urgent_with_the_models_confidence(
        p_urgent: float, confidence: float, emergency: bool) -> None:
    doc = _triaged(THREAT_NARRATIVE, p_urgent)

    assert doc.label("urgency").label == "urgent" and "lawsuit" in doc.complaint_types
    assert doc.label("urgency").confidence == pytest.approx(confidence)
    assert needs_emergency(doc, POLICY) is emergency
