"""Routing's comparisons and explanations: capacity share over raw load, skills before load, the reasons an order
shows, and the queue."""

from __future__ import annotations

from caredesk.workorders.routing import AgentState, Need, RoutingDecision, Strategy, choose_agent


def agent(i: str, *, skills: tuple[str, ...] = (), capacity: int = 3, load: int = 0, away: bool = False
          ) -> AgentState:
    return AgentState(i, frozenset(skills), frozenset(), capacity, load, away)


def test_choose_agent_queued_reason_lists_who_was_skipped() -> None:
    decision = choose_agent(Need(), [agent("a", away=True), agent("b", capacity=2, load=2)], Strategy.LEAST_LOADED)
    assert decision == RoutingDecision(None, "nobody present with capacity: queued",
                                       (("a", "away"), ("b", "at capacity (2/2)")))


def test_choose_agent_round_robin_reason() -> None:
    decision = choose_agent(Need(), [agent("a")], Strategy.ROUND_ROBIN)
    assert decision == RoutingDecision("a", "round robin: longest since last assignment")


def test_choose_agent_least_loaded_compares_share_not_load_times_capacity() -> None:
    # a: 2 of 10 (20 %), b: 1 of 2 (50 %): a is less loaded although it holds more orders
    decision = choose_agent(Need(), [agent("a", capacity=10, load=2), agent("b", capacity=2, load=1)],
                            Strategy.LEAST_LOADED)
    assert decision == RoutingDecision("a", "least loaded (2/10)")


def test_choose_agent_skills_tie_broken_by_share_of_capacity_and_reason_names_matched_skills() -> None:
    need = Need(skills=frozenset({"cards", "loans"}))
    team = [agent("a", skills=("cards", "loans", "fx"), capacity=10, load=2),
            agent("b", skills=("cards", "loans"), capacity=2, load=1)]
    assert choose_agent(need, team, Strategy.SKILLS) == RoutingDecision("a", "skills cards, loans; load 2/10")


def test_choose_agent_skills_reason_when_none_are_required() -> None:
    decision = choose_agent(Need(), [agent("a", skills=("cards",), load=1)], Strategy.SKILLS)
    assert decision == RoutingDecision("a", "skills none required; load 1/3")
