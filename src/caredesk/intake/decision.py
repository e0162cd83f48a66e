"""The seed method's decision (DESIGN.md steps 2-4) as pure functions of the triage and the KB matches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from caredesk.triage.doc import TriageDoc

__all__ = ["Decision", "DecisionKind", "DecisionPolicy", "KbMatch", "decide", "needs_emergency"]


class DecisionKind(StrEnum):
    ANSWER = "answer"
    WORK_ORDER = "work_order"
    EMERGENCY = "emergency"


@dataclass(frozen=True)
class DecisionPolicy:
    emergency_urgency: frozenset[str]
    kb_threshold: float
    # Ask which entry is meant when others are within this confidence of the best one (and at most this many
    # options in all); the best must still reach kb_threshold, so every option is at least
    # kb_threshold - clarify_margin.
    clarify_margin: float = 0.08
    clarify_max_options: int = 3


@dataclass(frozen=True)
class KbMatch:
    entry_id: str
    version: int
    score: float  # calibrated confidence in [0, 1] that the entry answers the question
    question: str
    answer: str


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    reason: str
    match: KbMatch | None = None
    # Non-empty: a clarifying question (kind ANSWER, no match) offering these entries, best first.
    clarify: tuple[KbMatch, ...] = ()


def needs_emergency(doc: TriageDoc, policy: DecisionPolicy) -> bool:
    return doc.label("urgency").label in policy.emergency_urgency


def decide(doc: TriageDoc, match: KbMatch | None, policy: DecisionPolicy, *,
           runners_up: Sequence[KbMatch] = ()) -> Decision:
    """`match` is the best knowledge match, `runners_up` the next ones, best first."""
    urgency = doc.label("urgency")
    if urgency.label in policy.emergency_urgency:
        return Decision(DecisionKind.EMERGENCY, f"urgency {urgency.label} ({urgency.confidence:.2f}) meets the "
                                                f"linked-response condition")
    if match is None:
        return Decision(DecisionKind.WORK_ORDER, "no knowledge entry for this content and problem type")
    if match.score < policy.kb_threshold:
        return Decision(DecisionKind.WORK_ORDER, f"best knowledge match {match.score:.2f} < "
                                                 f"{policy.kb_threshold:.2f}", match)
    close = [m for m in runners_up if m.entry_id != match.entry_id and match.score - m.score < policy.clarify_margin]
    close = close[:max(policy.clarify_max_options - 1, 0)]
    if close:
        scores = ", ".join(f"{m.score:.2f}" for m in (match, *close))
        return Decision(DecisionKind.ANSWER, f"clarifying question: {1 + len(close)} knowledge matches ({scores}) "
                                             f"within {policy.clarify_margin:.2f} of each other", None,
                        (match, *close))
    return Decision(DecisionKind.ANSWER, f"knowledge match {match.score:.2f} >= {policy.kb_threshold:.2f}", match)
