"""Choosing who gets a work order: round robin, least-loaded or skills-based among the agents of a skill
group who are present, speak the customer's language and have capacity; nobody eligible means the order
waits in the group's queue, drained by priority then age as capacity frees. Pure: the caller loads the
agents' state (in the transaction that assigns) and passes it in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = ["ROUTING_CODES", "AgentState", "Need", "QueuedOrder", "RoutingDecision", "Strategy", "choose_agent",
           "drain_order"]

# The stable codes of a routing decision's reason (stored beside the English reason on the order's events;
# the pages translate them with their parameters: load, capacity, skills).
ROUTING_CODES = ("queued", "to_lead", "round_robin", "least_loaded", "skills", "skills_none")

_EPOCH = datetime.min


class Strategy(StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"
    SKILLS = "skills"


@dataclass(frozen=True)
class AgentState:
    staff_id: str
    skills: frozenset[str]
    languages: frozenset[str]  # empty: speaks whatever the group covers
    capacity: int  # open orders the agent may hold at once
    load: int  # open orders assigned now
    away: bool = False
    last_assigned_at: datetime | None = None


@dataclass(frozen=True)
class Need:
    skills: frozenset[str] = frozenset()
    language: str | None = None


@dataclass(frozen=True)
class RoutingDecision:
    staff_id: str | None  # None: queue the order
    reason: str
    skipped: tuple[tuple[str, str], ...] = ()  # (staff id, why) for the explanation on the order
    # one of ROUTING_CODES and its parameters: the same decision in words the pages translate (not compared)
    code: str = field(default="", compare=False)
    params: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def queued(self) -> bool:
        return self.staff_id is None


def _why_not(agent: AgentState, need: Need, strategy: Strategy) -> str | None:
    if agent.away:
        return "away"
    if agent.load >= agent.capacity:
        return f"at capacity ({agent.load}/{agent.capacity})"
    if need.language and agent.languages and need.language not in agent.languages:
        return f"does not speak {need.language}"
    if strategy == Strategy.SKILLS and need.skills and not need.skills & agent.skills:
        return "has none of the skills " + ", ".join(sorted(need.skills))
    return None


def _idle_key(agent: AgentState) -> tuple[datetime, str]:
    return (agent.last_assigned_at.replace(tzinfo=None) if agent.last_assigned_at else _EPOCH, agent.staff_id)


def choose_agent(need: Need, agents: Iterable[AgentState], strategy: Strategy) -> RoutingDecision:
    eligible: list[AgentState] = []
    skipped: list[tuple[str, str]] = []
    for agent in agents:
        why = _why_not(agent, need, strategy)
        if why is None:
            eligible.append(agent)
        else:
            skipped.append((agent.staff_id, why))
    if not eligible:
        return RoutingDecision(None, "nobody present with capacity: queued", tuple(skipped), "queued")
    if strategy == Strategy.ROUND_ROBIN:
        chosen = min(eligible, key=_idle_key)
        reason = "round robin: longest since last assignment"
        code, params = "round_robin", dict[str, object]()
    elif strategy == Strategy.LEAST_LOADED:
        chosen = min(eligible, key=lambda a: (a.load / a.capacity, a.load, *_idle_key(a)))
        reason = f"least loaded ({chosen.load}/{chosen.capacity})"
        code, params = "least_loaded", {"load": chosen.load, "capacity": chosen.capacity}
    else:
        chosen = min(eligible, key=lambda a: (-len(need.skills & a.skills), a.load / a.capacity, *_idle_key(a)))
        matched = sorted(need.skills & chosen.skills)
        reason = f"skills {', '.join(matched) or 'none required'}; load {chosen.load}/{chosen.capacity}"
        code = "skills" if matched else "skills_none"
        params = {"skills": ", ".join(matched), "load": chosen.load, "capacity": chosen.capacity}
    return RoutingDecision(chosen.staff_id, reason, tuple(skipped), code, params)


@dataclass(frozen=True)
class QueuedOrder:
    order_id: str
    priority: int  # 1 highest
    queued_at: datetime


def drain_order(waiting: Sequence[QueuedOrder]) -> list[QueuedOrder]:
    """The order in which waiting work orders get freed capacity: highest priority, then oldest."""
    return sorted(waiting, key=lambda q: (q.priority, q.queued_at, q.order_id))
