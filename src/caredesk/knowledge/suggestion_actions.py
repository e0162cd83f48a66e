"""Suggested knowledge from what customers asked and the bot could not answer: generated daily (a task) from the
clusters of `suggestions.py`; an editor accepts or dismisses them (caredesk.knowledge.suggestion_review, apart so
that a serving process does not load the clustering's scikit-learn). One transaction with an audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.compliance.audit import record_audit
from caredesk.errors import InvalidInput
from caredesk.knowledge.queries import load_published
from caredesk.knowledge.suggestion_review import OPEN
from caredesk.knowledge.suggestions import Cluster, Question, cluster_questions
from caredesk.storage.orm import KnowledgeSuggestion, Message, TriageResult
from caredesk.storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from caredesk.knowledge.retrieval import KnowledgeIndex

__all__ = ["GenerateReport", "do_generate_suggestions", "unanswered_questions"]

_PROBES = 10


@dataclass(frozen=True)
class GenerateReport:
    questions: int
    clusters: int
    created: int
    updated: int


def _question(m: Message, t: TriageResult | None) -> Question:
    return Question(
        m.id,
        m.conversation_id,
        (t.language if t else None) or m.language or "en",
        m.text_masked,
        t.content_type if t else "",
        t.problem_type if t else "",
    )


def unanswered_questions(session: Session, since: datetime, until: datetime) -> list[Question]:
    """Inbound messages in [since, until) that went to a work order, or that a person answered (the next
    outbound message of the conversation is an agent's), in arrival order. Emergencies are left out."""
    rows = session.execute(
        select(Message, TriageResult)
        .join(TriageResult, TriageResult.message_id == Message.id)
        .where(
            Message.direction == "in",
            Message.created_at >= since,
            Message.created_at < until,
            TriageResult.decision_kind == "work_order",
        )
    )
    found = {m.id: _question(m, t) for m, t in rows}
    answered = (
        select(Message.conversation_id)
        .where(Message.direction == "out", Message.author == "agent", Message.created_at >= since)
        .distinct()
        .scalar_subquery()
    )
    pending: list[Message] = []
    for m in session.scalars(
        select(Message)
        .where(Message.conversation_id.in_(answered), Message.created_at >= since)
        .order_by(Message.conversation_id, Message.created_at, Message.id)
    ):
        if pending and pending[-1].conversation_id != m.conversation_id:
            pending = []
        if m.direction == "in":
            pending.append(m)
            continue
        if m.author == "agent":
            for p in pending:
                if (
                    p.created_at < until
                    and p.id not in found
                    and (p.triage is None or p.triage.decision_kind != "emergency")
                ):
                    found[p.id] = _question(p, p.triage)
        pending = []
    return sorted(found.values(), key=lambda q: q.message_id)  # ids are time-ordered


def _match(index: KnowledgeIndex | None, cluster: Cluster, threshold: float) -> tuple[str | None, float]:
    """The published entry most of the cluster's central questions find, if they find it well enough."""
    if index is None or len(index) == 0:
        return None, 0.0
    votes: dict[str, list[float]] = {}
    probes = cluster.questions[:_PROBES]
    for text in probes:
        matches = index.search(text, limit=1)
        if matches:
            votes.setdefault(matches[0].entry_id, []).append(matches[0].score)
    if not votes:
        return None, 0.0
    entry_id, scores = max(votes.items(), key=lambda kv: (len(kv[1]), sum(kv[1])))
    mean = sum(scores) / len(scores)
    return (entry_id, mean) if len(scores) * 2 >= len(probes) and mean >= threshold else (None, mean)


def _details(cluster: Cluster, score: float) -> dict[str, Any]:
    return {
        "content_type": cluster.majority("content_type") or "business",
        "problem_type": cluster.majority("problem_type") or "consultation",
        "cohesion": cluster.cohesion,
        "match_score": round(score, 4),
    }


def do_generate_suggestions(
    uow: UnitOfWork,
    now: datetime,
    days: int = 1,
    min_size: int = 3,
    *,
    match_threshold: float = 0.35,
    index: KnowledgeIndex | None = None,
    actor: str = "system",
) -> GenerateReport:
    """Cluster the last `days` of unanswered questions; each cluster of `min_size`+ conversations becomes a
    suggestion: `similar_questions` for the published entry it resembles, else `new_entry`. Idempotent:
    questions already in a decided suggestion are left out, and a cluster that shares questions with an open
    suggestion grows that suggestion instead of making a new one (the open suggestions' questions take part
    in every run, whatever their age)."""
    if days < 1 or min_size < 1:
        raise InvalidInput("days and min_size must be at least 1")
    since = now - timedelta(days=days)
    with uow:
        s = uow.session
        questions = unanswered_questions(s, since, now)
        decided: set[str] = set()
        for ids in s.scalars(
            select(KnowledgeSuggestion.message_ids).where(
                KnowledgeSuggestion.status != OPEN, KnowledgeSuggestion.created_at >= since
            )
        ):
            decided.update(ids or [])
        open_rows = list(
            s.scalars(
                select(KnowledgeSuggestion)
                .where(KnowledgeSuggestion.status == OPEN)
                .order_by(KnowledgeSuggestion.created_at)
            )
        )
        owner_of = {mid: row for row in open_rows for mid in row.message_ids or []}
        have = {q.message_id for q in questions}
        older = [mid for mid in owner_of if mid not in have]
        for start in range(0, len(older), 500):
            for m in s.scalars(select(Message).where(Message.id.in_(older[start : start + 500]))):
                questions.append(_question(m, m.triage))
        questions = sorted((q for q in questions if q.message_id not in decided), key=lambda q: q.message_id)
        published = load_published(s, now)
        if index is None and published:  # callers with a runtime pass its (cached, hybrid) index
            from caredesk.knowledge.retrieval import KnowledgeIndex

            index = KnowledgeIndex(published, semantic=False)
        background = [text for e in published for text in (e.question, *e.similar_questions)]
        clusters = cluster_questions(questions, min_size=1, background=background)
        created = updated = 0
        for cluster in clusters:
            overlap: dict[str, int] = {}
            for mid in cluster.message_ids:
                if mid in owner_of:
                    overlap[owner_of[mid].id] = overlap.get(owner_of[mid].id, 0) + 1
            if overlap:
                row = next(r for r in open_rows if r.id == max(overlap, key=lambda k: overlap[k]))
                ids = sorted(set(row.message_ids) | set(cluster.message_ids))
                if ids != sorted(row.message_ids):
                    texts = list(dict.fromkeys([*row.questions, *cluster.questions]))
                    row.message_ids, row.questions = ids, texts
                    row.size = max(row.size, cluster.size)
                    for mid in ids:
                        owner_of[mid] = row
                    updated += 1
                continue
            if cluster.size < min_size:
                continue
            entry_id, score = _match(index, cluster, match_threshold)
            row = KnowledgeSuggestion(
                kind="similar_questions" if entry_id else "new_entry",
                entry_id=entry_id,
                language=cluster.language,
                questions=cluster.questions,
                message_ids=cluster.message_ids,
                size=cluster.size,
                status=OPEN,
                details=_details(cluster, score),
                created_at=now,
            )
            s.add(row)
            open_rows.append(row)
            s.flush()
            for mid in cluster.message_ids:
                owner_of[mid] = row
            created += 1
        report = GenerateReport(
            len(questions), sum(1 for c in clusters if c.size >= min_size), created, updated
        )
        if created or updated:
            record_audit(
                s,
                actor=actor,
                action="knowledge.suggestions_generated",
                object_type="knowledge_base",
                object_id="suggestions",
                data={
                    "days": days,
                    "min_size": min_size,
                    "created": created,
                    "updated": updated,
                    "questions": len(questions),
                },
                now=now,
            )
        uow.commit()
    return report
