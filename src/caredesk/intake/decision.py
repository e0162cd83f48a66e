"""The seed method's decision (DESIGN.md steps 2-4) as pure functions of the triage and the KB matches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from caredesk.knowledge.match import KbMatch
from caredesk.triage.doc import TriageDoc

if TYPE_CHECKING:
    from caredesk.settings import Settings

__all__ = ["REASON_CODES", "Decision", "DecisionKind", "DecisionPolicy", "Reason", "decide", "needs_emergency"]


class DecisionKind(StrEnum):
    ANSWER = "answer"
    WORK_ORDER = "work_order"
    EMERGENCY = "emergency"
    HANDOFF = "handoff"  # the customer asked for a person: a work order takes the conversation to the queue


# The stable codes of a decision's reasons; the pages translate them with their parameters (the English
# `Decision.reason` stays what the API and the stored triage say).
REASON_CODES = ("hard_rule", "urgency_met", "urgency_held", "handoff", "out_of_scope", "no_entry",
                "below_threshold", "clarify", "kb_match", "clarified", "joins_meeting", "compliance_blocked",
                "emergency_advice", "known_product", "live_status", "lookup_failed")


@dataclass(frozen=True)
class Reason:
    code: str
    params: dict[str, str | dict[str, str]] = field(default_factory=dict)  # a dict: the text in each language

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "params": self.params}


@dataclass(frozen=True)
class DecisionPolicy:
    emergency_urgency: frozenset[str]
    kb_threshold: float
    # Ask which entry is meant when others are within this confidence of the best one (and at most this many
    # options in all); the best must still reach kb_threshold, so every option is at least
    # kb_threshold - clarify_margin.
    clarify_margin: float = 0.08
    clarify_max_options: int = 3
    # The emergency gate: an urgent label starts the emergency response only at this calibrated confidence or
    # above, or when a hard rule fired (self-harm, fraud or theft, safety); below it a lead confirms.
    emergency_min_confidence: float = 0.0

    @classmethod
    def of(cls, settings: Settings) -> DecisionPolicy:
        return cls(frozenset(settings.emergency_urgency), settings.kb_threshold, settings.kb_clarify_margin,
                   settings.kb_clarify_max_options, settings.emergency_min_confidence)


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    reason: str
    match: KbMatch | None = None
    # Non-empty: a clarifying question (kind ANSWER, no match) offering these entries, best first.
    clarify: tuple[KbMatch, ...] = ()
    # Urgent, but below the gate's confidence: a high-priority work order that a lead confirms (one click
    # starts the emergency response).
    confirm_emergency: bool = False
    out_of_scope: bool = False  # not a customer-service message: the reply asks what the customer needs
    # `reason` as stable codes with their values, for the pages to translate; it says what `reason` says, so
    # two decisions with the same reason are equal.
    because: tuple[Reason, ...] = field(default=(), compare=False)


def _urgent(doc: TriageDoc, policy: DecisionPolicy) -> bool:
    return doc.label("urgency").label in policy.emergency_urgency


def needs_emergency(doc: TriageDoc, policy: DecisionPolicy) -> bool:
    """The gate: an urgent label with calibrated confidence at the threshold, or a hard rule."""
    if not _urgent(doc, policy):
        return False
    return bool(doc.hard_rules) or doc.label("urgency").confidence >= policy.emergency_min_confidence


def _emergency(doc: TriageDoc, policy: DecisionPolicy) -> Decision:
    urgency = doc.label("urgency")
    if doc.hard_rules:
        rules = ", ".join(doc.hard_rules)
        return Decision(DecisionKind.EMERGENCY,
                        f"hard rule {rules}: urgency {urgency.label} starts the linked response",
                        because=(Reason("hard_rule", {"rules": rules, "urgency": urgency.label}),))
    rule = next((r.removeprefix("rule:") for r in urgency.reasons if r.startswith("rule:")), "")
    confidence, threshold = f"{urgency.confidence:.2f}", f"{policy.emergency_min_confidence:.2f}"
    return Decision(DecisionKind.EMERGENCY,
                    f"urgency {urgency.label} ({confidence} >= {threshold}{', ' + rule if rule else ''}) meets "
                    f"the linked-response condition",
                    because=(Reason("urgency_met", {"urgency": urgency.label, "confidence": confidence,
                                                    "threshold": threshold, "rule": rule}),))


def decide(doc: TriageDoc, match: KbMatch | None, policy: DecisionPolicy, *,
           runners_up: Sequence[KbMatch] = ()) -> Decision:
    """`match` is the best knowledge match, `runners_up` the next ones, best first. In order: the emergency
    gate; a request for a person; an urgent label below the gate (a lead confirms); a message that is no
    customer-service message; then the knowledge base."""
    urgency = doc.label("urgency")
    if needs_emergency(doc, policy):
        return _emergency(doc, policy)
    unconfirmed = _urgent(doc, policy)
    confidence, gate = f"{urgency.confidence:.2f}", f"{policy.emergency_min_confidence:.2f}"
    held = (f"urgency {urgency.label} at {confidence} < {gate}: a lead confirms before the emergency response "
            f"starts") if unconfirmed else ""
    held_because = (Reason("urgency_held", {"urgency": urgency.label, "confidence": confidence, "threshold": gate}),
                    ) if unconfirmed else ()
    if doc.handoff:
        return Decision(DecisionKind.HANDOFF, "; ".join(filter(None, ["the customer asked for a person", held])),
                        confirm_emergency=unconfirmed, because=(Reason("handoff"), *held_because))
    if unconfirmed:
        return Decision(DecisionKind.WORK_ORDER, held, confirm_emergency=True, because=held_because)
    if doc.out_of_scope:
        rule = next((r for r in doc.rules if r.startswith("out_of_scope:")), "out_of_scope")
        return Decision(DecisionKind.ANSWER, f"not a customer-service message ({rule}): asked to clarify",
                        out_of_scope=True, because=(Reason("out_of_scope", {"rule": rule}),))
    if match is None:
        return Decision(DecisionKind.WORK_ORDER, "no knowledge entry for this content and problem type",
                        because=(Reason("no_entry"),))
    score, threshold = f"{match.score:.2f}", f"{policy.kb_threshold:.2f}"
    if match.score < policy.kb_threshold:
        return Decision(DecisionKind.WORK_ORDER, f"best knowledge match {score} < {threshold}", match,
                        because=(Reason("below_threshold", {"score": score, "threshold": threshold}),))
    close = [m for m in runners_up if m.entry_id != match.entry_id and match.score - m.score < policy.clarify_margin]
    close = close[:max(policy.clarify_max_options - 1, 0)]
    if close:
        scores = ", ".join(f"{m.score:.2f}" for m in (match, *close))
        margin = f"{policy.clarify_margin:.2f}"
        return Decision(DecisionKind.ANSWER, f"clarifying question: {1 + len(close)} knowledge matches ({scores}) "
                                             f"within {margin} of each other", None,
                        (match, *close),
                        because=(Reason("clarify", {"count": str(1 + len(close)), "scores": scores,
                                                    "margin": margin}),))
    return Decision(DecisionKind.ANSWER, f"knowledge match {score} >= {threshold}", match,
                    because=(Reason("kb_match", {"score": score, "threshold": threshold}),))
