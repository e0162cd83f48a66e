"""What the profile panel recommends: knowledge entries that answer the customer's recent question and next
steps by declared rules
(profiles/next_steps.yaml: a high escalation risk -> a call back by a senior agent, a stale source -> check
it, ...), each with its reason, in the reader's language. Pure apart from loading the rules file once.

The entries come from the published knowledge index: by its meaning search (`KnowledgeIndex.search`, one
sentence encoding of the question) when an encoder is wanted, else by its lexical half alone (BM25 over
characters and words, no model: well under a millisecond), then ranked by the case's topic as knowledge at hand
ranks them (knowledge/at_hand.py). The profile read uses the lexical half: one encoding costs 10-40 ms on this
machine, most of the read's 50 ms budget, and the knowledge-at-hand panel beside it runs the meaning search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from pydantic import Field

from caredesk.config_files import ConfigModel, Name, load_config
from caredesk.knowledge.at_hand import CANDIDATES, Suggestion, Topic, rank_suggestions, suggest
from caredesk.knowledge.match import KbMatch
from caredesk.knowledge.retrieval import KnowledgeIndex

__all__ = ["LEXICAL_MIN", "NextStepsFile", "ProfileFacts", "Recommendation", "knowledge_for", "load_next_steps",
           "next_steps", "recommendations"]

KNOWLEDGE_LIMIT = 3
LEXICAL_MIN = 0.12  # normalised BM25: share of the question's term information an entry must hold to be recommended


class Words(ConfigModel):
    en: Name
    zh: Name

    def in_language(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


class When(ConfigModel):
    """Every condition given must hold."""

    escalation_risk_at_least: float | None = Field(default=None, ge=0, le=1)
    emotion: list[Name] | None = None
    trend: list[Name] | None = None
    tier: list[Name] | None = None
    open_orders_at_least: int | None = Field(default=None, ge=1)
    source_status: list[Name] | None = None  # one recommendation per source in one of these statuses


class Rule(ConfigModel):
    id: Name
    when: When
    title: Words
    reason: Words


class NextStepsFile(ConfigModel):
    knowledge_reason: Words
    rules: list[Rule]


@lru_cache(maxsize=4)
def load_next_steps(path: Path | None = None) -> NextStepsFile:
    source = path or resources.files("caredesk.profiles").joinpath("next_steps.yaml")
    return load_config(NextStepsFile, source, None if path else "next_steps.yaml")


@dataclass(frozen=True)
class ProfileFacts:
    """What the rules look at."""

    escalation_risk: float
    emotion: str
    trend: str
    tier: str
    open_orders: int
    sources: Sequence[tuple[str, str, str]]  # (name, status, error) of each source


@dataclass(frozen=True)
class Recommendation:
    kind: str  # knowledge | action
    id: str  # the knowledge entry's id, or the rule's id (with the source's name: check_source:crm)
    title: str
    reason: str


def _holds(when: When, facts: ProfileFacts) -> bool:
    return ((when.escalation_risk_at_least is None or facts.escalation_risk >= when.escalation_risk_at_least)
            and (when.emotion is None or facts.emotion in when.emotion)
            and (when.trend is None or facts.trend in when.trend)
            and (when.tier is None or facts.tier in when.tier)
            and (when.open_orders_at_least is None or facts.open_orders >= when.open_orders_at_least))


def next_steps(rules: NextStepsFile, facts: ProfileFacts, language: str) -> list[Recommendation]:
    """The action recommendations whose conditions hold, in the file's order."""
    out: list[Recommendation] = []
    values: dict[str, object] = {"escalation_risk": f"{facts.escalation_risk:.0%}", "emotion": facts.emotion,
                                 "trend": facts.trend, "tier": facts.tier, "open_orders": facts.open_orders}
    for rule in rules.rules:
        if not _holds(rule.when, facts):
            continue
        if rule.when.source_status is None:
            out.append(Recommendation("action", rule.id, rule.title.in_language(language).format(**values),
                                      rule.reason.in_language(language).format(**values)))
            continue
        for name, status, error in facts.sources:
            if status in rule.when.source_status:
                more = values | {"source": name, "status": status, "error": error or status}
                out.append(Recommendation("action", f"{rule.id}:{name}",
                                          rule.title.in_language(language).format(**more),
                                          rule.reason.in_language(language).format(**more)))
    return out


def knowledge_for(index: KnowledgeIndex, question: str, case: Topic | None, *, semantic: bool = False
                  ) -> list[Suggestion]:
    """The entries for the question, best first: the meaning search (`semantic`) or the lexical half alone."""
    if not question.strip() or not len(index):
        return []
    if semantic:
        return suggest(index, question, case, limit=KNOWLEDGE_LIMIT)
    scores = index.lexical.scores(question)
    k = min(CANDIDATES, len(scores))
    best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    matches = []
    for pos in sorted(best.tolist(), key=lambda p: -float(scores[p])):
        if float(scores[pos]) < LEXICAL_MIN:
            continue
        e = index.entries[pos]
        matches.append(KbMatch(e.entry_id, e.version, round(float(scores[pos]), 4), e.question, e.answer))

    def topic_of(entry_id: str) -> Topic | None:
        entry = index.get(entry_id)
        return Topic(entry.content_type, entry.problem_type) if entry else None

    return rank_suggestions(matches, topic_of, case, limit=KNOWLEDGE_LIMIT)


def recommendations(rules: NextStepsFile, facts: ProfileFacts, suggestions: Sequence[Suggestion], topic: str,
                    language: str) -> list[Recommendation]:
    """Next steps first, then up to KNOWLEDGE_LIMIT knowledge entries for the recent question."""
    reason = rules.knowledge_reason.in_language(language).format(topic=topic or "-")
    knowledge = [Recommendation("knowledge", s.entry_id, s.question, reason)
                 for s in suggestions[:KNOWLEDGE_LIMIT]]
    return [*next_steps(rules, facts, language), *knowledge]
