"""The profile of a customer the profile model has not scored yet (no `customer_profile` row): computed on
the fly from their history with fixed cold-start values, so that the panel and the API always answer with
scores in 0-1 and a segment. Pure: history in, values out.

- value: the tier's prior (standard 0.3, gold 0.6, private 0.9); loyalty: 0.5 (nothing known either way);
- escalation risk: 0.1, plus 0.15 per complaint in the recent history and 0.3 when one reached level 3
  (regulator, media, lawsuit), capped at 1;
- segment "new"; tags by the same readable rules the model's tags use ("多次投诉", "情绪激动");
- emotion: the latest message's, and its trend as the stored profile reads it (features.emotion_trend)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["COLD_SEGMENT", "EMOTIONS", "ColdStart", "cold_start"]

COLD_SEGMENT = "new"
_TIER_VALUE = {"standard": 0.3, "gold": 0.6, "private": 0.9}
EMOTIONS = ("angry", "anxious", "neutral", "satisfied")
RECENT = 3  # the newest messages the 情绪激动 tag looks at


@dataclass(frozen=True)
class ColdStart:
    value_score: float
    loyalty_score: float
    escalation_risk: float
    segment: str
    tags: tuple[str, ...]


def cold_start(tier: str, complaint_levels: Sequence[int], emotions: Sequence[str]) -> ColdStart:
    """Scores and tags from the tier and the recent history (complaint level and emotion of each message)."""
    complaints = sum(1 for level in complaint_levels if level >= 1)
    external = any(level >= 3 for level in complaint_levels)
    risk = min(1.0, 0.1 + 0.15 * complaints + (0.3 if external else 0.0))
    tags = []
    if complaints >= 2:
        tags.append("多次投诉")
    if emotions[:RECENT].count("angry") >= 2:
        tags.append("情绪激动")
    return ColdStart(_TIER_VALUE.get(tier, 0.3), 0.5, round(risk, 4), COLD_SEGMENT, tuple(tags))
