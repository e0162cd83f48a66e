"""Knowledge at hand: the best published entries for what an agent is handling (a conversation's recent
customer messages, a work order's description), shown beside the reply box with one click to insert.

The meaning search that answers customers (`KnowledgeIndex.search`: BM25 + sentence embeddings, current
published versions only) finds the candidates over every topic; `rank_suggestions` (pure) then adds a bonus
for each triage label the entry shares (content type, problem type), so that among entries close in meaning
the one on the case's own topic comes first, without hiding a good answer filed under another topic."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from caredesk.knowledge.match import KbMatch
from caredesk.knowledge.retrieval import KnowledgeIndex, entry_language

__all__ = ["CANDIDATES", "MIN_SCORE", "TOPIC_BONUS", "Suggestion", "Topic", "excerpt", "rank_suggestions",
           "suggest"]

CANDIDATES = 12  # asked of the meaning search before the topic re-ranks them
TOPIC_BONUS = 0.15  # per shared triage label
MIN_SCORE = 0.05  # calibrated confidence below which an entry is noise, whatever its topic
EXCERPT_CHARS = 90


@dataclass(frozen=True)
class Topic:
    content_type: str
    problem_type: str


@dataclass(frozen=True)
class Suggestion:
    entry_id: str
    version: int
    question: str
    answer: str
    excerpt: str
    score: float  # the meaning search's confidence plus the topic bonus
    same_topic: bool  # shares both triage labels with the case


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The answer's start on one line, cut at `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1].rstrip() + "…"


def rank_suggestions(matches: Sequence[KbMatch], topic_of: Callable[[str], Topic | None], case: Topic | None,
                     *, limit: int = 5) -> list[Suggestion]:
    """The best `limit` matches after the topic bonus, best first; ties keep the search's order."""
    scored: list[Suggestion] = []
    for m in matches:
        if m.score < MIN_SCORE:
            continue
        topic = topic_of(m.entry_id)
        shared = 0
        if case is not None and topic is not None:
            shared = (topic.content_type == case.content_type) + (topic.problem_type == case.problem_type)
        scored.append(Suggestion(m.entry_id, m.version, m.question, m.answer, excerpt(m.answer),
                                 round(m.score + TOPIC_BONUS * shared, 4), shared == 2))
    return sorted(scored, key=lambda s: -s.score)[:limit]


def suggest(index: KnowledgeIndex, text: str, case: Topic | None, *, limit: int = 5) -> list[Suggestion]:
    """The suggestions for `text` from the published entries in `index`."""
    if not text.strip():
        return []
    matches = index.search(text, limit=CANDIDATES, language=entry_language(text))

    def topic_of(entry_id: str) -> Topic | None:
        entry = index.get(entry_id)
        return Topic(entry.content_type, entry.problem_type) if entry else None

    return rank_suggestions(matches, topic_of, case, limit=limit)
