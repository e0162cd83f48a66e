"""The pure parts of the profile panel: cold-start scores and tags, the emotion trend, the declared next
steps and the order of past cases (similar first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from caredesk.knowledge.at_hand import Suggestion
from caredesk.profiles.cold_start import cold_start
from caredesk.profiles.features import emotion_trend, load_rules
from caredesk.profiles.recommend import ProfileFacts, load_next_steps, next_steps, recommendations
from caredesk.profiles.similar_cases import PastCase, rank_past_cases

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_emotion_trend_compares_the_latest_three_with_the_three_before() -> None:
    scores = load_rules().emotion_scores  # the shipped file's: the stored profile and the cold panel share it

    def trend(newest_first: list[str]) -> str:
        return emotion_trend(newest_first[::-1], scores)

    assert trend([]) == "steady"
    assert trend(["angry"]) == "steady"  # nothing to compare with
    assert trend(["angry", "angry", "anxious", "neutral", "neutral", "satisfied"]) == "rising"
    assert trend(["satisfied", "neutral", "neutral", "angry", "anxious", "angry"]) == "falling"
    assert trend(["anxious", "neutral", "anxious", "anxious", "neutral", "anxious"]) == "steady"
    assert trend(["bored", "angry"]) == "steady"  # an unknown label is skipped


def test_cold_start_scores_are_in_range_and_tags_read_the_history() -> None:
    nothing = cold_start("standard", [], [])
    assert (nothing.value_score, nothing.loyalty_score, nothing.escalation_risk, nothing.segment, nothing.tags) == (
        0.3, 0.5, 0.1, "new", ())
    assert cold_start("private", [], []).value_score == 0.9
    assert cold_start("unknown-tier", [], []).value_score == 0.3
    heated = cold_start("gold", [1, 2, 3, 0], ["angry", "angry", "neutral"])
    assert heated.escalation_risk == round(0.1 + 3 * 0.15 + 0.3, 4)
    assert heated.tags == ("多次投诉", "情绪激动")
    assert cold_start("gold", [3] * 20, []).escalation_risk == 1.0


def _facts(**values: object) -> ProfileFacts:
    base: dict[str, object] = {"escalation_risk": 0.2, "emotion": "neutral", "trend": "steady", "tier": "standard",
                               "open_orders": 0, "sources": ()}
    return ProfileFacts(**(base | values))  # type: ignore[arg-type]


def test_next_steps_follow_the_declared_rules_in_order() -> None:
    rules = load_next_steps()
    assert next_steps(rules, _facts(), "en") == []
    steps = next_steps(rules, _facts(escalation_risk=0.85, emotion="angry", trend="rising", open_orders=2,
                                     sources=[("crm", "stale", "timed out after 2 s"), ("loyalty", "ok", "")]), "en")
    assert [s.id for s in steps] == ["senior_callback", "calm_first", "check_source:crm", "follow_open_order"]
    assert steps[0].title == "Call back by a senior agent" and steps[0].reason == "escalation risk 85%"
    assert steps[2].title == "Check the customer's record in crm"
    assert steps[2].reason == "crm is stale: timed out after 2 s"
    zh = next_steps(rules, _facts(escalation_risk=0.7), "zh")
    assert [(s.title, s.reason) for s in zh] == [("由资深坐席回电", "升级风险 70%")]
    assert next_steps(rules, _facts(emotion="angry", trend="falling"), "en") == []  # calming down already


def test_recommendations_put_next_steps_before_knowledge_entries() -> None:
    found = [Suggestion(f"e{i}", 1, f"question {i}", "answer", "answer", 0.9 - i / 10, True) for i in range(5)]
    recs = recommendations(load_next_steps(), _facts(open_orders=1), found, "annual_fee", "en")
    assert [(r.kind, r.id) for r in recs] == [("action", "follow_open_order"), ("knowledge", "e0"),
                                              ("knowledge", "e1"), ("knowledge", "e2")]
    assert recs[1].title == "question 0" and recs[1].reason == "matches the customer's recent question (annual_fee)"


class _Fixed:
    """An encoder with fixed vectors per text (the ranking, not the model, is under test here)."""

    name = "fixed"
    dims = 2

    def __init__(self, vectors: dict[str, tuple[float, float]]) -> None:
        self.vectors = vectors

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = np.array([self.vectors[t] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _case(order_id: str, summary: str, days_ago: int) -> PastCase:
    return PastCase(order_id, order_id, summary, "done", T0 - timedelta(days=days_ago))


def test_past_cases_similar_first_then_newest_first() -> None:
    cases = [_case("a", "old card fee", 30), _case("b", "app crash", 2), _case("c", "card fee again", 10),
             _case("d", "loan rate", 5)]
    embedder = _Fixed({"why this annual fee": (1, 0), "old card fee": (0.9, 0.1), "app crash": (0, 1),
                       "card fee again": (0.99, 0.05), "loan rate": (0.2, 1)})
    ranked = rank_past_cases(cases, "why this annual fee", embedder)
    assert [(c.order_id, c.similar) for c in ranked] == [("c", True), ("a", True), ("b", False), ("d", False)]
    assert [c.order_id for c in rank_past_cases(cases, "", embedder)] == ["b", "d", "c", "a"]
    lexical = rank_past_cases(cases, "card fee", None)
    assert [c.order_id for c in lexical][:2] == ["c", "a"] and lexical[0].similar
    assert rank_past_cases([], "anything", embedder) == []


def test_knowledge_for_ranks_by_the_lexical_half_and_drops_noise() -> None:
    from caredesk.knowledge.at_hand import Topic
    from caredesk.knowledge.retrieval import IndexedEntry, KnowledgeIndex
    from caredesk.profiles.recommend import knowledge_for

    entries = [IndexedEntry("fee", 1, "business", "consultation", "信用卡年费怎么收，怎么免年费？", ("年费减免",), "a"),
               IndexedEntry("pwd", 1, "system", "consultation", "忘记手机银行登录密码怎么办？", (), "b"),
               IndexedEntry("fx", 1, "business", "consultation", "外汇牌价在哪里看？", (), "c")]
    index = KnowledgeIndex(entries, semantic=False)
    found = knowledge_for(index, "我的信用卡年费又被扣了，年费怎么免", Topic("business", "complaint"))
    assert [s.entry_id for s in found] == ["fee"]
    assert knowledge_for(index, "", None) == [] and knowledge_for(index, "今天天气不错", None) == []
