"""The label sets of the seed method (DESIGN.md, step 1) and CareDesk's further axes (docs/taxonomy.md)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["COMPLAINT_TYPES", "CONTENT_TYPE_ALIASES", "HEADS", "TRAINED_HEADS", "ComplaintLevel", "ContentType",
           "Emotion", "ProblemType", "Urgency", "complaint_head", "level_of_types"]


class ContentType(StrEnum):
    SYSTEM = "system"
    BUSINESS = "business"
    BRANCH = "branch"
    # The taxonomy calls it `external`; CareDesk's stored and API value predates it (read both: aliases below).
    EXTERNAL_PARTNER = "external_partner"


CONTENT_TYPE_ALIASES = {"external": ContentType.EXTERNAL_PARTNER.value}


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
    """How far a complaint is escalating; higher is worse. Complaint types map onto these levels."""

    NONE = 0
    COMPLAINT = 1
    REPEATED_OR_COMPENSATION = 2
    EXTERNAL_THREAT = 3  # regulator, media, lawsuit
    SAFETY = 4  # self-harm, violence


# Complaint type -> the level it stands for (docs/taxonomy.md, "complaint level").
COMPLAINT_TYPES: dict[str, int] = {
    "repeated": ComplaintLevel.REPEATED_OR_COMPENSATION,
    "compensation": ComplaintLevel.REPEATED_OR_COMPENSATION,
    "abuse": ComplaintLevel.REPEATED_OR_COMPENSATION,
    "regulator": ComplaintLevel.EXTERNAL_THREAT,
    "media": ComplaintLevel.EXTERNAL_THREAT,
    "lawsuit": ComplaintLevel.EXTERNAL_THREAT,
    "self_harm": ComplaintLevel.SAFETY,
}


def level_of_types(types: list[str] | tuple[str, ...] | set[str]) -> int:
    return max((COMPLAINT_TYPES.get(t, 0) for t in types), default=0)


def complaint_head(kind: str) -> str:
    """The binary head that learns one complaint type ("1" present, "0" not)."""
    return f"complaint:{kind}"


HEADS: dict[str, type[StrEnum]] = {
    "content_type": ContentType,
    "problem_type": ProblemType,
    "urgency": Urgency,
}

# Every head the model learns: the seed axes, emotion, out-of-scope ("1"/"0") and one per complaint type.
TRAINED_HEADS: tuple[str, ...] = (*HEADS, "emotion", "out_of_scope", *(complaint_head(k) for k in COMPLAINT_TYPES))
