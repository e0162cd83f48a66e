"""Knowledge at hand: the best published entries for what an agent is handling (a conversation's recent
customer messages, a work order's description), shown beside the reply box with one click to insert.

The meaning search that answers customers (`KnowledgeIndex.search`: BM25 + sentence embeddings, current
published versions only) finds the candidates over every topic; `rank_suggestions` (pure) then adds a bonus
for each triage label the entry shares with the case, so that among entries close in meaning the one on the
case's own topic comes first, without hiding a good answer filed under another topic. The content type (what
it is about) weighs more than the problem type: a complaint about a forgotten password still wants the
password answer, filed as a consultation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from caredesk.knowledge.match import KbMatch
from caredesk.knowledge.retrieval import KnowledgeIndex, entry_language

__all__ = ["CANDIDATES", "CONTENT_BONUS", "MIN_SCORE", "PROBLEM_BONUS", "Suggestion", "Topic", "excerpt",
           "rank_suggestions", "suggest"]

CANDIDATES = 12  # asked of the meaning search before the topic re-ranks them
CONTENT_BONUS = 0.1  # the entry's content type is the case's (system, business, branch, partner)
PROBLEM_BONUS = 0.03  # its problem type too (consultation, complaint, suggestion)
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
        same_content = bool(case and topic and topic.content_type == case.content_type)
        same_problem = bool(case and topic and topic.problem_type == case.problem_type)
        bonus = CONTENT_BONUS * same_content + PROBLEM_BONUS * same_problem
        scored.append(Suggestion(m.entry_id, m.version, m.question, m.answer, excerpt(m.answer),
                                 round(m.score + bonus, 4), same_content and same_problem))
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
