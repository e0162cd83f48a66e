"""A forecast beside the count: the probability that a conversation ends in an external complaint (to the
regulator, the media or a court), from the trajectory of its emotion and complaint level.

A small logistic score with fixed, named weights, so that every forecast can be read: each reason is one
feature, its value and how far it moved the score. Pure: the trajectory is passed in. The weights were set
by hand from the seed method's levels (DESIGN.md) and are a starting point to be fitted on outcomes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["MODEL", "WEIGHTS", "Forecast", "Point", "Reason", "forecast_external_complaint"]

MODEL = "caredesk.forecast.logistic.v1"
EXTERNAL_TYPES = frozenset({"regulator", "media", "lawsuit"})
BIAS = -3.0
WEIGHTS: dict[str, float] = {
    "external_threats": 0.9,  # messages threatening the regulator, the media or a court
    "max_level": 0.45,  # the highest complaint level reached (0-4)
    "rising": 0.6,  # complaint level rose from the first to the last third of the conversation
    "angry_share": 1.2,  # share of customer messages read as angry
    "angry_streak": 0.35,  # angry messages in a row at the end
    "repeated": 0.5,  # the customer says they complained before
    "compensation": 0.3,  # the customer asks for compensation
}


@dataclass(frozen=True)
class Point:
    """One inbound message as the forecast sees it."""

    level: int
    emotion: str
    types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reason:
    feature: str
    value: float
    contribution: float  # weight * value, in log-odds


@dataclass(frozen=True)
class Forecast:
    probability: float
    reasons: tuple[Reason, ...]  # the features that moved the score, largest first
    model: str = MODEL

    def to_json(self) -> dict[str, object]:
        return {"probability": round(self.probability, 4), "model": self.model,
                "reasons": [{"feature": r.feature, "value": round(r.value, 3),
                             "contribution": round(r.contribution, 3)} for r in self.reasons]}


def _features(points: Sequence[Point]) -> dict[str, float]:
    levels = [p.level for p in points]
    third = max(1, len(points) // 3)
    rising = (sum(levels[-third:]) / third) - (sum(levels[:third]) / third) if len(points) > 1 else 0.0
    streak = 0
    for p in reversed(points):
        if p.emotion != "angry":
            break
        streak += 1
    return {
        "external_threats": float(sum(1 for p in points if EXTERNAL_TYPES & set(p.types))),
        "max_level": float(max(levels, default=0)),
        "rising": max(0.0, rising),
        "angry_share": sum(1 for p in points if p.emotion == "angry") / len(points) if points else 0.0,
        "angry_streak": float(streak),
        "repeated": float(any("repeated" in p.types for p in points)),
        "compensation": float(any("compensation" in p.types for p in points)),
    }


def forecast_external_complaint(points: Sequence[Point]) -> Forecast:
    features = _features(points)
    contributions = {name: WEIGHTS[name] * value for name, value in features.items()}
    z = BIAS + sum(contributions.values())
    reasons = tuple(sorted((Reason(n, features[n], c) for n, c in contributions.items() if c > 0),
                           key=lambda r: -r.contribution))
    return Forecast(1.0 / (1.0 + math.exp(-z)), reasons)
