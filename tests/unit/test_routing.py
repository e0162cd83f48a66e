"""Who gets a work order: strategies, skipping the away and the full, language and skills, the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from caredesk.workorders.routing import AgentState, Need, QueuedOrder, Strategy, choose_agent, drain_order

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def agent(i: str, *, skills=(), languages=("zh", "en"), capacity=3, load=0, away=False, last=None) -> AgentState:
    return AgentState(i, frozenset(skills), frozenset(languages), capacity, load, away, last)


def test_round_robin_picks_the_agent_longest_without_an_order() -> None:
    team = [agent("a", last=T0), agent("b", last=T0 - timedelta(hours=1)), agent("c", last=T0 + timedelta(minutes=5))]
    assert choose_agent(Need(), team, Strategy.ROUND_ROBIN).staff_id == "b"
    assert choose_agent(Need(), [*team, agent("d")], Strategy.ROUND_ROBIN).staff_id == "d"  # never assigned


def test_least_loaded_uses_the_share_of_capacity() -> None:
    team = [agent("a", capacity=10, load=4), agent("b", capacity=3, load=2), agent("c", capacity=5, load=1)]
    decision = choose_agent(Need(), team, Strategy.LEAST_LOADED)
    assert decision.staff_id == "c" and "1/5" in decision.reason


def test_skills_based_prefers_coverage_then_load() -> None:
    need = Need(frozenset({"credit_card", "complaint"}), "zh")
    team = [agent("generalist"), agent("cards", skills={"credit_card"}),
            agent("expert", skills={"credit_card", "complaint"}, load=2),
            agent("expert2", skills={"credit_card", "complaint"}, load=1)]
    decision = choose_agent(need, team, Strategy.SKILLS)
    assert decision.staff_id == "expert2"
    assert ("generalist", "has none of the skills complaint, credit_card") in decision.skipped


def test_away_full_and_wrong_language_agents_are_skipped_with_reasons() -> None:
    team = [agent("away", away=True), agent("full", capacity=2, load=2), agent("en-only", languages=("en",)),
            agent("zero", capacity=0)]
    decision = choose_agent(Need(language="zh"), team, Strategy.LEAST_LOADED)
    assert decision.queued and decision.staff_id is None
    assert dict(decision.skipped) == {"away": "away", "full": "at capacity (2/2)", "en-only": "does not speak zh",
                                      "zero": "at capacity (0/0)"}


def test_waiting_queue_drains_by_priority_then_age() -> None:
    waiting = [QueuedOrder("late-urgent", 1, T0 + timedelta(minutes=9)), QueuedOrder("old-normal", 3, T0),
               QueuedOrder("early-urgent", 1, T0 + timedelta(minutes=1))]
    assert [q.order_id for q in drain_order(waiting)] == ["early-urgent", "late-urgent", "old-normal"]
