"""The conversation so far, as triage weighs it: a third angry message is not a first. Pure: the earlier
customer messages' triage (oldest first) and this message's doc in, the doc adjusted, with the rule named."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from caredesk.triage.doc import TriageDoc
from caredesk.triage.labels import ComplaintLevel, Emotion, Urgency

__all__ = ["PriorTurn", "in_context"]

REPEATED_AFTER = 2  # earlier complaint messages after which another complaint counts as repeated
ANGRY_AFTER = 2  # earlier angry messages after which a neutral one still reads as angry


@dataclass(frozen=True, slots=True)
class PriorTurn:
    urgency: str
    emotion: str
    complaint_level: int
    complaint_types: tuple[str, ...] = ()


def in_context(doc: TriageDoc, history: Sequence[PriorTurn]) -> TriageDoc:
    if not history:
        return doc
    complaints = sum(1 for t in history if t.complaint_level >= ComplaintLevel.COMPLAINT)
    angry = sum(1 for t in history if t.emotion == Emotion.ANGRY)
    urgency = doc.labels.get("urgency")
    complaint = doc.complaint_level >= ComplaintLevel.COMPLAINT
    if complaint and complaints >= REPEATED_AFTER and "repeated" not in doc.complaint_types:
        doc.complaint_types = ["repeated", *doc.complaint_types]
        doc.complaint_level = max(doc.complaint_level, ComplaintLevel.REPEATED_OR_COMPENSATION)
        doc.rules.append(f"context:repeated:{complaints}_earlier_complaints")
    if angry >= ANGRY_AFTER and doc.emotion.label == Emotion.NEUTRAL and complaint:
        doc.emotion = replace(doc.emotion, label=Emotion.ANGRY.value,
                              reasons=(f"context:{angry}_earlier_angry", *doc.emotion.reasons))
        doc.rules.append(f"context:angry:{angry}_earlier_angry")
    escalating = angry >= ANGRY_AFTER or complaints >= REPEATED_AFTER or any(t.urgency == Urgency.URGENT
                                                                              for t in history[-2:])
    if urgency is not None and urgency.label == Urgency.GENERAL and escalating and complaint:
        doc.labels["urgency"] = replace(urgency, label=Urgency.ATTENTION.value,
                                        reasons=("rule:context:escalating", *urgency.reasons))
        doc.rules.append("context:attention:escalating")
    return doc
