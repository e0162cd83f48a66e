"""What one customer message counts for in the roll-ups: the single definition that intake, history import and
the rebuild share (docs/analytics-metrics.md explains each counter)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from caredesk.analytics.rollups import MessageFacts

__all__ = ["BOT_COULD_NOT_ANSWER", "TriageFields", "message_facts"]


class TriageFields(Protocol):
    """What message_facts reads of a triage row: the stored TriageResult, or the same columns read alone
    (analytics/sources.py reads them so, a million rows at a time in a rebuild)."""

    @property
    def decision_kind(self) -> str: ...
    @property
    def problem_type(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def urgency(self) -> str: ...
    @property
    def answer_entry_id(self) -> str | None: ...
    @property
    def explanation(self) -> dict[str, Any]: ...
    @property
    def complaint_types(self) -> list[str]: ...
    @property
    def topic(self) -> str | None: ...
    @property
    def product(self) -> str | None: ...

# Decision reasons that mean the bot tried to answer and could not: no knowledge entry for the message's type,
# none good enough, a clarifying question, a message it could not read as a service request.
BOT_COULD_NOT_ANSWER = frozenset({"no_entry", "below_threshold", "clarify", "out_of_scope"})


def _reason_codes(triage: TriageFields) -> set[str]:
    reasons = (triage.explanation or {}).get("decision_reasons") or []
    return {str(r.get("code")) for r in reasons if isinstance(r, dict)}


def message_facts(triage: TriageFields, *, received_at: datetime, channel: str, branch: str | None) -> MessageFacts:
    kind = triage.decision_kind
    counts = {"messages"}
    if triage.problem_type == "complaint":
        counts.add("complaints")
    if triage.urgency == "urgent":
        counts.add("urgent")
    if kind == "answer" and triage.answer_entry_id is not None:
        counts.add("auto_answered")
    if _reason_codes(triage) & BOT_COULD_NOT_ANSWER:
        counts.add("unanswered")
    if kind in ("work_order", "handoff"):
        counts.add("handed_off")
    if kind == "emergency":
        counts.add("emergencies")
    types: Sequence[str] = triage.complaint_types or ()
    if "regulator" in types:
        counts.add("regulator")
    return MessageFacts(received_at, {
        "channel": (channel,), "topic": _one(triage.topic), "product": _one(triage.product),
        "content_type": (triage.content_type,), "problem_type": (triage.problem_type,), "branch": _one(branch),
        "complaint_type": tuple(types)}, frozenset(counts))


def _one(value: str | None) -> tuple[str, ...]:
    return (value,) if value else ()
