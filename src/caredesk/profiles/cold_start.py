"""The profile of a customer the profile model has not scored yet (no `customer_profile` row): computed on
the fly from their history with fixed cold-start values, so that the panel and the API always answer with
scores in 0-1 and a segment. Pure: history in, values out.

- value: the tier's prior (standard 0.3, gold 0.6, private 0.9); loyalty: 0.5 (nothing known either way);
- escalation risk: 0.1, plus 0.15 per complaint in the recent history and 0.3 when one reached level 3
  (regulator, media, lawsuit), capped at 1;
- segment "new"; tags by the same readable rules the model's tags use ("多次投诉", "情绪激动");
- emotion: the latest message's, and its trend over the recent messages (below)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["COLD_SEGMENT", "ColdStart", "cold_start", "emotion_trend"]

COLD_SEGMENT = "new"
_TIER_VALUE = {"standard": 0.3, "gold": 0.6, "private": 0.9}
_NEGATIVITY = {"angry": 2.0, "anxious": 1.0, "neutral": 0.0, "satisfied": -1.0}
EMOTIONS = tuple(_NEGATIVITY)
TREND_WINDOW = 3  # messages compared: the latest three against the three before
TREND_STEP = 0.5  # mean negativity change that counts as rising or falling


@dataclass(frozen=True)
class ColdStart:
    value_score: float
    loyalty_score: float
    escalation_risk: float
    segment: str
    tags: tuple[str, ...]


def emotion_trend(emotions: Sequence[str]) -> tuple[str, str]:
    """(current, trend) from the emotions of the customer's messages, newest first: current is the newest
    (neutral when there is none); trend compares the mean negativity (angry 2, anxious 1, neutral 0,
    satisfied -1) of the newest TREND_WINDOW with the TREND_WINDOW before them."""
    known = [e for e in emotions if e in _NEGATIVITY]
    current = known[0] if known else "neutral"
    recent, before = known[:TREND_WINDOW], known[TREND_WINDOW:2 * TREND_WINDOW]
    if not recent or not before:
        return current, "steady"
    change = (sum(_NEGATIVITY[e] for e in recent) / len(recent)
              - sum(_NEGATIVITY[e] for e in before) / len(before))
    return current, "rising" if change >= TREND_STEP else "falling" if change <= -TREND_STEP else "steady"


def cold_start(tier: str, complaint_levels: Sequence[int], emotions: Sequence[str]) -> ColdStart:
    """Scores and tags from the tier and the recent history (complaint level and emotion of each message)."""
    complaints = sum(1 for level in complaint_levels if level >= 1)
    external = any(level >= 3 for level in complaint_levels)
    risk = min(1.0, 0.1 + 0.15 * complaints + (0.3 if external else 0.0))
    tags = []
    if complaints >= 2:
        tags.append("多次投诉")
    if emotions[:TREND_WINDOW].count("angry") >= 2:
        tags.append("情绪激动")
    return ColdStart(_TIER_VALUE.get(tier, 0.3), 0.5, round(risk, 4), COLD_SEGMENT, tuple(tags))
