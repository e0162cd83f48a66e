"""The messages from the triage issue, through the shipped model and rules, get the treatment a bank's
complaint manager would agree with."""

from __future__ import annotations

import pytest

from caredesk.emergency.roster import COMPLAINT_ESCALATION, response_roster
from caredesk.intake.decision import DecisionKind, DecisionPolicy, decide, needs_emergency
from caredesk.settings import Settings
from caredesk.triage.pipeline import TriagePipeline

SETTINGS = Settings()
POLICY = DecisionPolicy.of(SETTINGS)


def test_forgotten_password_pages_nobody(pipeline: TriagePipeline) -> None:
    d = pipeline("密码忘了怎么办")
    assert not needs_emergency(d, POLICY)
    assert d.label("problem_type").label == "consultation" and d.complaint_level == 0


def test_fee_complaint_threatening_the_regulator_gathers_the_complaint_roster(pipeline: TriagePipeline) -> None:
    d = pipeline("你们乱扣我50元年费,我要去银保监会投诉你们!")
    assert d.label("problem_type").label == "complaint"
    assert d.label("content_type").label == "business"
    assert d.complaint_level == 3 and "regulator" in d.complaint_types
    assert decide(d, None, POLICY).kind == DecisionKind.EMERGENCY
    assert response_roster(d.label("content_type").label, d.complaint_types, d.hard_rules) == COMPLAINT_ESCALATION


@pytest.mark.parametrize("text", ["你们再不解决我就不活了", "再不退钱我就从你们楼上跳下去"])
def test_self_harm_threat_is_level_four_and_an_emergency(pipeline: TriagePipeline, text: str) -> None:
    d = pipeline(text)
    assert d.complaint_level == 4 and "self_harm" in d.complaint_types
    assert "self_harm" in d.hard_rules
    assert decide(d, None, POLICY).kind == DecisionKind.EMERGENCY
    assert response_roster(d.label("content_type").label, d.complaint_types, d.hard_rules) != COMPLAINT_ESCALATION


@pytest.mark.parametrize("text", ["太过分了", "😡😡😡", "我很生气"])
def test_anger_without_the_usual_words_is_angry(pipeline: TriagePipeline, text: str) -> None:
    assert pipeline(text).emotion.label == "angry"


def test_explanation_names_words_rules_and_the_runner_up(pipeline: TriagePipeline) -> None:
    d = pipeline("我的信用卡被盗刷了三万块，现在就要冻结！")
    ex = d.explanation()
    for head in ("content_type", "problem_type", "urgency"):
        features = [r.rsplit(":", 1)[0] for r in ex[head]["reasons"] if not r.startswith(("rule:", "meaning:"))]
        assert all(any(len(part) >= 2 for part in f.split()) for f in features), features
        assert ex[head]["runner_up"] is not None
    assert any(r.startswith("rule:urgent:fraud") for r in ex["urgency"]["reasons"])
    assert "fraud" in ex["hard_rules"]


@pytest.mark.parametrize("text", ["asdfgh", "<script>alert(1)</script>"])
def test_meaningless_message_is_out_of_scope(pipeline: TriagePipeline, text: str) -> None:
    d = pipeline(text)
    assert d.out_of_scope
    decision = decide(d, None, POLICY)
    assert decision.kind == DecisionKind.ANSWER and decision.out_of_scope


@pytest.mark.parametrize("text", ["转人工", "人工客服", "talk to a human", "agent please"])
def test_asking_for_a_person_is_a_handoff(pipeline: TriagePipeline, text: str) -> None:
    d = pipeline(text)
    assert d.handoff
    assert decide(d, None, POLICY).kind == DecisionKind.HANDOFF


def test_preventing_fraud_is_no_hard_rule(pipeline: TriagePipeline) -> None:
    assert pipeline("如何防止信用卡被盗刷？").hard_rules == []


@pytest.mark.parametrize("text", ["The way you handled my dispute is unfair and frankly shady.",
                                  "I'm appalled that the fee was charged again."])
def test_english_judging_words_are_angry(pipeline: TriagePipeline, text: str) -> None:
    assert pipeline(text).emotion.label == "angry"


@pytest.mark.parametrize("text", ["I am not satisfied with how my complaint was handled.",
                                  "Please refund the duplicate charge, I would appreciate it. Thanks."])
def test_polite_or_negated_english_is_not_satisfied(pipeline: TriagePipeline, text: str) -> None:
    assert pipeline(text).emotion.label != "satisfied"


def test_asking_how_to_stop_fraud_is_no_hard_rule(pipeline: TriagePipeline) -> None:
    d = pipeline("How do I stop fraud on my card?")
    assert d.hard_rules == [] and not needs_emergency(d, POLICY)


@pytest.mark.parametrize("text", ["A withdrawal showed up on my account last night but it wasn't me",
                                  "dont recognize these charges collector keeps billing"])
def test_money_taken_in_loose_wording_is_urgent(pipeline: TriagePipeline, text: str) -> None:
    assert pipeline(text).label("urgency").label == "urgent"


@pytest.mark.parametrize("text", ["汤洒了半碗，包装袋里全是油", "送错了，我要的是炒饭不是炒面",
                                  "建议大家不要入住这家，隔音奇差"])
def test_a_spilled_or_wrong_order_or_urging_others_away_needs_attention(pipeline: TriagePipeline, text: str) -> None:
    assert pipeline(text).label("urgency").label in {"attention", "urgent"}


def test_threat_to_go_to_the_ftc_is_a_regulator_threat(pipeline: TriagePipeline) -> None:
    d = pipeline("servicer ignored my letters so I will contact ftc about this fee")
    assert "regulator" in d.complaint_types and d.complaint_level == 3
    assert d.label("urgency").label == "urgent"
