"""Erlang C: how many agents answer a share of contacts within a target wait, given the arrivals in an hour and
the average handling time. Pure; the classic M/M/N queue with waiting contacts that do not give up."""

from __future__ import annotations

import math

__all__ = ["agents_needed", "erlang_c", "service_level"]


def erlang_c(traffic: float, agents: int) -> float:
    """Probability that a contact waits (Erlang C), for `traffic` in Erlangs (arrival rate x handling time)."""
    if agents <= traffic:
        return 1.0
    # the Erlang B recursion is numerically stable for hundreds of agents; C follows from B
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return agents * b / (agents - traffic * (1 - b))


def service_level(contacts_per_hour: float, aht_seconds: float, agents: int, within_seconds: float) -> float:
    """Share of contacts answered within `within_seconds`."""
    traffic = contacts_per_hour * aht_seconds / 3600
    if traffic <= 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    return 1 - erlang_c(traffic, agents) * math.exp(-(agents - traffic) * within_seconds / aht_seconds)


def agents_needed(contacts_per_hour: float, aht_seconds: float, *, target: float = 0.8,
                  within_seconds: float = 20, max_agents: int = 10_000) -> int:
    """The fewest agents whose service level reaches `target` (0 when nothing arrives)."""
    if not 0 < target < 1 or aht_seconds <= 0 or within_seconds < 0:
        raise ValueError("target must be in (0, 1), aht_seconds > 0, within_seconds >= 0")
    if contacts_per_hour <= 0:
        return 0
    traffic = contacts_per_hour * aht_seconds / 3600
    agents = max(1, math.floor(traffic) + 1)
    while service_level(contacts_per_hour, aht_seconds, agents, within_seconds) < target:
        agents += 1
        if agents > max_agents:
            raise ValueError("more agents than max_agents would be needed")
    return agents
