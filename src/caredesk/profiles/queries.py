"""The customer profile as the agent sees it (the profile panel and GET /api/v1/customers/{id}/profile): the
learned scores, tags and the features that drove them, the emotion and its trend, the topics the customer
has asked about, the recent business, past problems with their resolutions (similar ones first), the
recommended next steps and knowledge entries, and the state of each outside source. Masked text only.

A customer with no `customer_profile` row yet (the profile model has not scored them) gets a profile computed
on the fly from their history with the cold-start values (profiles/cold_start.py): segment "new", scores in
0-1, `cold_start` true and `updated_at` None. A row's missing score is filled the same way.

Five statements whatever the history's size (profile row, topic counts, recent messages, work orders,
sources); the history is bounded (RECENT_MESSAGES, RECENT_ORDERS)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.orm import Session

from caredesk.compliance.masking import mask_text
from caredesk.knowledge.at_hand import Suggestion, Topic, excerpt
from caredesk.knowledge.retrieval import KnowledgeIndex
from caredesk.profiles.cold_start import EMOTIONS, cold_start
from caredesk.profiles.features import emotion_trend, load_rules
from caredesk.profiles.recommend import (
    ProfileFacts,
    Recommendation,
    knowledge_for,
    load_next_steps,
    recommendations,
)
from caredesk.profiles.similar_cases import PastCase, rank_past_cases
from caredesk.profiles.source_status import SourceStatus, source_statuses
from caredesk.storage.orm import Conversation, Customer, CustomerProfile, Message, TriageResult, WorkOrder
from caredesk.text.encoder import Embedder

__all__ = ["RECENT_MESSAGES", "RECENT_ORDERS", "ProfileView", "RecentBusiness", "TopicCount", "profile_view"]

RECENT_MESSAGES = 30  # the customer's latest triaged messages read for emotion, recent business, the question
RECENT_ORDERS = 50  # the latest work orders read for open orders and past problems
RECENT_BUSINESS = 5  # distinct topics shown
PAST_ISSUES = 10
QUESTION_MESSAGES = 3  # the latest conversation's customer messages that make "the current question"
SUMMARY_CHARS = 80
RESOLUTION_CHARS = 200
TRENDS = ("rising", "steady", "falling")


@dataclass(frozen=True)
class TopicCount:
    topic: str
    count: int
    last_at: datetime


@dataclass(frozen=True)
class RecentBusiness:
    topic: str
    summary: str  # masked excerpt of the latest message on the topic
    at: datetime


@dataclass(frozen=True)
class ProfileView:
    customer_id: str
    tier: str
    value_score: float
    loyalty_score: float
    escalation_risk: float
    segment: str
    tags: tuple[str, ...]
    drivers: dict[str, list[dict[str, Any]]]  # score -> [{feature, weight}] (the model's; empty on cold start)
    emotion_current: str
    emotion_trend: str
    topics: list[TopicCount]
    recent_business: list[RecentBusiness]
    past_issues: list[PastCase]
    recommendations: list[Recommendation]
    sources: list[SourceStatus]
    open_orders: int
    cold_start: bool
    model_version: str | None
    updated_at: datetime | None
    question: str = field(default="", repr=False)  # the current question (masked), what similarity compares to


@dataclass(frozen=True)
class _Recent:
    conversation_id: str
    text: str
    at: datetime
    topic: str | None
    emotion: str
    complaint_level: int
    content_type: str
    problem_type: str


def _score(value: float | None, fallback: float) -> float:
    return float(min(1.0, max(0.0, fallback if value is None else value)))


def _masked(text: str | None) -> str:
    return mask_text(text)[0] if text else ""


# The statements are built once (bound by customer id): building them per read cost more than running them.
_CUSTOMER = bindparam("customer_id", type_=String())
_TOPICS = (select(TriageResult.topic, func.count(), func.max(Message.created_at))
           .join(Message, Message.id == TriageResult.message_id)
           .join(Conversation, Conversation.id == Message.conversation_id)
           .where(Conversation.customer_id == _CUSTOMER, TriageResult.topic.is_not(None))
           .group_by(TriageResult.topic))
_RECENT = (select(Message.conversation_id, Message.text_masked, Message.created_at, TriageResult.topic,
                  TriageResult.emotion, TriageResult.complaint_level, TriageResult.content_type,
                  TriageResult.problem_type)
           .join(TriageResult, TriageResult.message_id == Message.id)
           .join(Conversation, Conversation.id == Message.conversation_id)
           .where(Conversation.customer_id == _CUSTOMER)
           .order_by(Message.created_at.desc(), Message.id.desc()).limit(RECENT_MESSAGES))
_ORDERS = (select(WorkOrder.id, WorkOrder.case_number, WorkOrder.title, WorkOrder.fields, WorkOrder.status_category,
                  WorkOrder.resolved_at, WorkOrder.closed_at, WorkOrder.merged_into_id)
           .where(WorkOrder.customer_id == _CUSTOMER).order_by(WorkOrder.id.desc()).limit(RECENT_ORDERS))
_PROFILE = select(CustomerProfile).where(CustomerProfile.customer_id == _CUSTOMER)


def _topics(session: Session, customer_id: str) -> list[TopicCount]:
    rows = session.execute(_TOPICS, {"customer_id": customer_id})
    found = [TopicCount(str(topic), int(count), last) for topic, count, last in rows]
    return sorted(found, key=lambda t: (-t.count, -t.last_at.timestamp(), t.topic))


def _recent(session: Session, customer_id: str) -> list[_Recent]:
    return [_Recent(*row) for row in session.execute(_RECENT, {"customer_id": customer_id})]


def _orders(session: Session, customer_id: str) -> tuple[int, list[PastCase]]:
    """(open orders, resolved and closed ones as past cases) among the latest RECENT_ORDERS."""
    open_orders, past = 0, []
    for order_id, number, title, fields, category, resolved_at, closed_at, merged_into in session.execute(
            _ORDERS, {"customer_id": customer_id}):
        if category in ("open", "paused"):
            open_orders += 1
        elif category in ("resolved", "closed") and merged_into is None:
            ended = closed_at or resolved_at
            if ended is None:
                continue
            resolution = str((fields or {}).get("resolution") or "")
            past.append(PastCase(order_id, number or order_id, excerpt(_masked(title), SUMMARY_CHARS),
                                 excerpt(_masked(resolution), RESOLUTION_CHARS), ended))
    return open_orders, past


def _recent_business(recent: list[_Recent]) -> list[RecentBusiness]:
    seen: dict[str, RecentBusiness] = {}
    for r in recent:  # newest first: the first message of each topic is its latest
        if r.topic and r.topic not in seen:
            seen[r.topic] = RecentBusiness(r.topic, excerpt(r.text, SUMMARY_CHARS), r.at)
    return list(seen.values())[:RECENT_BUSINESS]


def _question(recent: list[_Recent]) -> str:
    if not recent:
        return ""
    latest = recent[0].conversation_id
    texts = [r.text for r in recent if r.conversation_id == latest][:QUESTION_MESSAGES]
    return " ".join(reversed(texts)).strip()


def profile_view(session: Session, customer: Customer, *, knowledge: KnowledgeIndex | None = None,
                 embedder: Embedder | None = None, language: str = "zh", now: datetime | None = None
                 ) -> ProfileView:
    """The profile of a customer the caller may see (scope is the caller's check: accounts/access.py).
    `knowledge`: the published entries' index for the recommended entries (none without it); `embedder`: the
    sentence encoder for similar past cases and the entries' meaning search (lexical without it: the API and
    the panel read without, see profiles/recommend.py for why); `language`: of the recommendations' words;
    `now`: a source's good copy past its cache lifetime then reads stale."""
    row = session.scalar(_PROFILE, {"customer_id": customer.id})
    topics = _topics(session, customer.id)
    recent = _recent(session, customer.id)
    open_orders, past = _orders(session, customer.id)
    sources = [replace(s, error=_masked(s.error) or None) for s in source_statuses(session, customer.id, now=now)]
    tier = customer.tier or "standard"
    emotions = [r.emotion for r in recent]
    cold = cold_start(tier, [r.complaint_level for r in recent], emotions)
    current = next((e for e in emotions if e in EMOTIONS), "neutral")
    trend = emotion_trend(emotions[::-1], load_rules().emotion_scores)
    if row is not None and row.emotion_current in EMOTIONS:
        current = row.emotion_current
        trend = row.emotion_trend if row.emotion_trend in TRENDS else trend
    risk = _score(row.escalation_risk if row else None, cold.escalation_risk)
    question = _question(recent)
    suggestions: list[Suggestion] = []
    if knowledge is not None and question:
        latest = recent[0]
        suggestions = knowledge_for(knowledge, question, Topic(latest.content_type, latest.problem_type),
                                    semantic=embedder is not None)
    facts = ProfileFacts(risk, current, trend, tier, open_orders, [(s.name, s.status, s.error or "") for s in sources])
    recs = recommendations(load_next_steps(), facts, suggestions, (recent[0].topic or "") if recent else "", language)
    return ProfileView(
        customer_id=customer.id, tier=tier,
        value_score=_score(row.value_score if row else None, cold.value_score),
        loyalty_score=_score(row.loyalty_score if row else None, cold.loyalty_score),
        escalation_risk=risk,
        segment=(row.segment if row is not None and row.segment else cold.segment),
        tags=tuple(row.tags or ()) if row is not None else cold.tags,
        drivers=dict(row.drivers or {}) if row is not None else {},
        emotion_current=current, emotion_trend=trend, topics=topics, recent_business=_recent_business(recent),
        past_issues=rank_past_cases(past, question, embedder)[:PAST_ISSUES], recommendations=recs,
        sources=sources, open_orders=open_orders, cold_start=row is None,
        model_version=row.model_version if row is not None else None,
        updated_at=row.updated_at if row is not None else None, question=question)
