"""What a customer's profile adds to a work order's priority, and the guard that keeps it in its place. Pure.

The lift (`profile_lift`): a high value score (>= HIGH_SCORE) +1, a high loyalty score +1, and strong emotion
from a high-tier customer +1, at most PROFILE_LIFT_MAX in all. Strong emotion from a high-tier customer
(`strong_from_high_tier`) is: the tier is private or gold, or the value score is high; and the message is angry
with a confidence of at least ANGER_CONFIDENCE, or its complaint level is at least STRONG_COMPLAINT_LEVEL
(repeated contact, a demand for compensation and above). Such an order also has its team lead told at once.

The guard (`queue_rank`): value and loyalty never outrank a complaint at level 3 or above or an order about to
breach its SLA (`guarded`). A guarded order is ranked as if it had the largest lift any customer can get, and
wins a tie, so no lift can carry another order past it: a lifted order comes before a guarded one only when it
would have without its lift. Everything else keeps its priority."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from caredesk.profiles.scores import ProfileScores

__all__ = ["ANGER_CONFIDENCE", "GUARD_COMPLAINT_LEVEL", "HIGH_SCORE", "HIGH_TIERS", "LIFT_REASONS",
           "PROFILE_LIFT_MAX", "SLA_AT_RISK_WITHIN", "STRONG_COMPLAINT_LEVEL", "ProfileLift", "guarded",
           "high_tier", "lift_count", "profile_lift", "queue_rank", "sla_at_risk", "strong_emotion",
           "strong_from_high_tier"]

HIGH_SCORE = 0.8  # a value or loyalty score (0-1) at or above this is "high"
HIGH_TIERS = ("private", "gold")
ANGER_CONFIDENCE = 0.6  # "angry" counts as strong emotion at this confidence or above
STRONG_COMPLAINT_LEVEL = 2  # ... as does a complaint at this level or above, whatever the emotion
PROFILE_LIFT_MAX = 2
GUARD_COMPLAINT_LEVEL = 3  # regulator, media, lawsuit; 4 is safety (workorders/duty.py HIGH_RISK_LEVEL)
SLA_AT_RISK_WITHIN = timedelta(minutes=30)  # an order due this soon (or overdue) is about to breach
# The reasons the lift gives, as `priority_of` writes them ("<code> <value> +<weight>").
LIFT_REASONS = {"value": "value high +1", "loyalty": "loyalty high +1", "vip_emotion": "vip_emotion strong +1"}


@dataclass(frozen=True)
class ProfileLift:
    """How many priority steps the profile adds (0..PROFILE_LIFT_MAX), why, and whether the team lead is to be
    told (strong emotion from a high-tier customer)."""

    weight: int = 0
    reasons: tuple[str, ...] = ()
    strong_emotion: bool = False


def _high(score: float | None) -> bool:
    return score is not None and score >= HIGH_SCORE


def high_tier(tier: str | None, scores: ProfileScores | None) -> bool:
    """A private or gold customer, or one whose value score is high."""
    return tier in HIGH_TIERS or (scores is not None and _high(scores.value_score))


def strong_emotion(emotion: str, emotion_confidence: float, complaint_level: int) -> bool:
    """Angry with confidence, or a complaint at STRONG_COMPLAINT_LEVEL or above."""
    return (emotion == "angry" and emotion_confidence >= ANGER_CONFIDENCE) or complaint_level >= STRONG_COMPLAINT_LEVEL


def strong_from_high_tier(tier: str | None, scores: ProfileScores | None, *, emotion: str,
                          emotion_confidence: float, complaint_level: int) -> bool:
    return strong_emotion(emotion, emotion_confidence, complaint_level) and high_tier(tier, scores)


def profile_lift(scores: ProfileScores | None, *, tier: str | None, emotion: str, emotion_confidence: float,
                 complaint_level: int) -> ProfileLift:
    """The lift for an order of this customer opened by a message with this emotion and complaint level."""
    strong = strong_from_high_tier(tier, scores, emotion=emotion, emotion_confidence=emotion_confidence,
                                   complaint_level=complaint_level)
    reasons = [LIFT_REASONS["vip_emotion"]] if strong else []
    if scores is not None and _high(scores.value_score):
        reasons.append(LIFT_REASONS["value"])
    if scores is not None and _high(scores.loyalty_score):
        reasons.append(LIFT_REASONS["loyalty"])
    kept = tuple(reasons[:PROFILE_LIFT_MAX])  # each +1; strong emotion is kept first when all three apply
    return ProfileLift(len(kept), kept, strong)


def lift_count(priority_reasons: list[str] | tuple[str, ...]) -> int:
    """How many steps of profile lift these stored priority reasons hold."""
    return sum(1 for r in priority_reasons if r in LIFT_REASONS.values())


def sla_at_risk(next_due_at: datetime | None, now: datetime, *, sla_state: str | None = None) -> bool:
    """The order's SLA is breached or in its warning time, or its next due time is within SLA_AT_RISK_WITHIN
    (or past). A naive time is taken as UTC."""
    if sla_state in ("warning", "breached"):
        return True
    return next_due_at is not None and _utc(next_due_at) - _utc(now) <= SLA_AT_RISK_WITHIN


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive UTC times, PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def guarded(complaint_level: int, at_risk: bool) -> bool:
    """An order that no value or loyalty may outrank."""
    return complaint_level >= GUARD_COMPLAINT_LEVEL or at_risk


def queue_rank(priority: int, is_guarded: bool) -> int:
    """What the queue sorts on before the due time (smaller first; a guarded order wins a tie: see the
    module's note for why no lift can then carry an order past a guarded one)."""
    return priority - PROFILE_LIFT_MAX if is_guarded else priority
