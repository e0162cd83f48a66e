"""Clarifying questions: when the decision asks, what it offers, and how a reply picks an option."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from caredesk.intake.clarify import (
    TEXT_CHOICE_MIN_SCORE,
    clarifying_question,
    options_from,
    options_of,
    parse_choice,
    pending_state,
    resolve_choice,
)
from caredesk.intake.decision import DecisionKind, DecisionPolicy, decide
from caredesk.knowledge.match import KbMatch
from caredesk.triage.doc import LabelScore, TriageDoc

POLICY = DecisionPolicy(frozenset({"urgent"}), kb_threshold=0.55, clarify_margin=0.08, clarify_max_options=3)


def doc(urgency: str = "general") -> TriageDoc:
    d = TriageDoc(text="x")
    d.labels["urgency"] = LabelScore(urgency, 0.9)
    return d


def m(entry_id: str, score: float) -> KbMatch:
    return KbMatch(entry_id, 1, score, f"question {entry_id}", f"answer {entry_id}")


def test_decide_clarifies_when_second_is_within_margin() -> None:
    d = decide(doc(), m("a", 0.80), POLICY, runners_up=[m("b", 0.75)])
    assert d.kind == DecisionKind.ANSWER and d.match is None
    assert [x.entry_id for x in d.clarify] == ["a", "b"]
    assert "clarifying question" in d.reason


def test_decide_answers_when_margin_is_reached_exactly_or_exceeded() -> None:
    assert decide(doc(), m("a", 0.80), POLICY, runners_up=[m("b", 0.72)]).match == m("a", 0.80)
    assert decide(doc(), m("a", 0.80), POLICY, runners_up=[m("b", 0.40)]).clarify == ()


def test_decide_below_threshold_hands_off_even_when_close() -> None:
    d = decide(doc(), m("a", 0.54), POLICY, runners_up=[m("b", 0.53)])
    assert d.kind == DecisionKind.WORK_ORDER and "< 0.55" in d.reason and d.clarify == ()


def test_decide_caps_options_and_ignores_duplicates() -> None:
    runners = [m("a", 0.79), m("b", 0.78), m("c", 0.77), m("d", 0.76)]
    d = decide(doc(), m("a", 0.80), POLICY, runners_up=runners)
    assert [x.entry_id for x in d.clarify] == ["a", "b", "c"]
    two = DecisionPolicy(frozenset({"urgent"}), 0.55, 0.08, clarify_max_options=1)
    assert decide(doc(), m("a", 0.80), two, runners_up=runners).match == m("a", 0.80)  # 1 option: never ask


def test_decide_emergency_wins_over_clarification() -> None:
    assert decide(doc("urgent"), m("a", 0.8), POLICY, runners_up=[m("b", 0.8)]).kind == DecisionKind.EMERGENCY


@pytest.mark.parametrize(("text", "count", "expected"), [
    ("1", 2, 1), ("2", 2, 2), (" 2。", 2, 2), ("3", 2, None), ("0", 2, None),
    ("第二个", 2, 2), ("第一项", 3, 1), ("第三条", 3, 3), ("二", 2, 2), ("选2", 2, 2), ("我选第二个", 2, 2),
    ("第2个吧", 2, 2), ("两", 2, 2), ("后者", 2, 2), ("前者", 2, 1), ("最后一个", 3, 3),
    ("the second one", 2, 2), ("Second", 2, 2), ("option 1", 2, 1), ("#2", 2, 2), ("the first", 3, 1),
    ("number two please", 2, 2), ("the last one", 3, 3), ("2nd", 2, 2),
    ("I have 2 cards and both are blocked", 2, None), ("信用卡", 2, None), ("hello", 2, None),
    ("the first and the second", 2, None), ("", 2, None), ("2", 0, None),
])
def test_parse_choice(text: str, count: int, expected: int | None) -> None:
    assert parse_choice(text, count) == expected


def test_resolve_by_number_text_match_or_substring() -> None:
    options = options_from([m("login", 0.8), m("pin", 0.78)])
    assert resolve_choice("2", options, []).entry_id == "pin"  # type: ignore[union-attr]
    picked = resolve_choice("the PIN one", options, [m("pin", 0.6), m("login", 0.3)])
    assert picked is not None and picked.entry_id == "pin"
    weak = [m("pin", TEXT_CHOICE_MIN_SCORE - 0.01)]
    assert resolve_choice("ok thanks", options, weak) is None
    assert resolve_choice("question login", options, []).entry_id == "login"  # type: ignore[union-attr]
    assert resolve_choice("How do I open an account?", options, [m("open", 0.9)]) is None  # a new question
    assert resolve_choice("1", (), []) is None


def test_pending_state_round_trip_and_malformed() -> None:
    options = options_from([m("a", 0.8), m("b", 0.75)])
    state = pending_state(options, message_id="msg1", asked_at=datetime(2026, 1, 2, tzinfo=UTC))
    assert options_of(state) == options
    assert options_of(None) == () and options_of({"options": [{"index": "x"}]}) == ()


def test_clarifying_question_in_the_customers_language() -> None:
    options = options_from([m("a", 0.8), m("b", 0.75)])
    zh, en = clarifying_question(options, "zh"), clarifying_question(options, "en")
    assert zh.startswith("您想咨询的是以下哪一项？") and "1. question a" in zh and "2. question b" in zh
    assert en.startswith("Which of these do you mean?") and "2. question b" in en
