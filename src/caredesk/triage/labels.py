"""The label sets of the seed method (DESIGN.md, step 1)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["HEADS", "ComplaintLevel", "ContentType", "Emotion", "ProblemType", "Urgency"]


class ContentType(StrEnum):
    SYSTEM = "system"
    BUSINESS = "business"
    BRANCH = "branch"
    EXTERNAL_PARTNER = "external_partner"


class ProblemType(StrEnum):
    CONSULTATION = "consultation"
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"


class Urgency(StrEnum):
    GENERAL = "general"
    ATTENTION = "attention"
    URGENT = "urgent"


class Emotion(StrEnum):
    ANGRY = "angry"
    ANXIOUS = "anxious"
    NEUTRAL = "neutral"
    SATISFIED = "satisfied"


class ComplaintLevel:
    """How far a complaint is escalating; higher is worse. Lexicon types map onto these levels."""

    NONE = 0
    COMPLAINT = 1
    REPEATED_OR_COMPENSATION = 2
    EXTERNAL_THREAT = 3  # regulator, media, lawsuit
    SAFETY = 4  # self-harm, violence


HEADS: dict[str, type[StrEnum]] = {
    "content_type": ContentType,
    "problem_type": ProblemType,
    "urgency": Urgency,
}
