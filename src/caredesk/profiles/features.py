"""Profile features by declared rules (profiles/features.yaml, a pydantic model) and the one pure extraction:
a cleaned history and the clock in, {feature: number or None} out. The same file declares the score weights,
the outcomes the risk model learns, the segment traits and the tags, so that changing what a profile says is
an edit to the file, checked by `load_rules` (at startup and by `caredesk profiles validate`)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from caredesk.errors import InvalidInput
from caredesk.profiles.history import History

__all__ = ["FAMILIES", "KINDS", "FeatureRule", "ProfileRules", "ScoreRule", "TagRule", "default_rules_path",
           "emotion_of_history", "emotion_trend", "extract_features", "load_rules", "rule_tags"]

FAMILIES = ("interaction", "emotion", "behaviour")
KINDS = ("count", "ratio", "recency", "max", "mean", "latest", "distinct", "repeat", "trend", "source_field")
SOURCES = ("interactions", "orders", "surveys", "callbacks", "alarms", "emergencies")
SCORES = ("value_score", "loyalty_score", "escalation_risk")
_OPS = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b,
        "==": lambda a, b: a == b}
_NEEDS_FIELD = ("max", "mean", "latest", "distinct", "repeat", "trend", "source_field")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bound(_Strict):
    min: float | None = None
    max: float | None = None


class FeatureRule(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    family: Literal["interaction", "emotion", "behaviour"]
    kind: Literal["count", "ratio", "recency", "max", "mean", "latest", "distinct", "repeat", "trend",
                  "source_field"]
    source: Literal["interactions", "orders", "surveys", "callbacks", "alarms", "emergencies", "sources"] = "sources"
    field: str | None = None
    window_days: int | None = Field(default=None, ge=1, le=3650)
    filters: dict[str, list[str | int] | Bound] = Field(default_factory=dict)
    last: int = Field(default=3, ge=1, le=50)  # trend: the newest `last` events against the `last` before
    equals: str | None = None  # source_field: 1.0 when the text equals it
    norm: tuple[float, float] = (0.0, 1.0)  # cold start: (centre, spread) standing in for a fitted scaler

    @model_validator(mode="after")
    def _consistent(self) -> FeatureRule:
        if self.kind in _NEEDS_FIELD and not self.field:
            raise ValueError(f"feature {self.name}: kind {self.kind} needs a field")
        if (self.kind == "source_field") != (self.source == "sources"):
            raise ValueError(f"feature {self.name}: source_field reads `sources` and only it does")
        if self.norm[1] <= 0:
            raise ValueError(f"feature {self.name}: norm spread must be positive")
        return self


class ScoreRule(_Strict):
    bias: float = 0.0
    weights: dict[str, float]


class Condition(_Strict):
    feature: str | None = None
    score: Literal["value_score", "loyalty_score", "escalation_risk"] | None = None
    op: Literal[">=", ">", "<=", "<", "=="]
    value: float

    @model_validator(mode="after")
    def _one(self) -> Condition:
        if (self.feature is None) == (self.score is None):
            raise ValueError("a tag condition names a feature or a score, not both")
        return self


class TagRule(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    zh: str
    en: str
    when: list[Condition] = Field(min_length=1)


class ClosedAccount(_Strict):
    field: str
    equals: str
    at_field: str | None = None


class Outcomes(_Strict):
    horizon_days: int = Field(default=30, ge=1, le=365)
    complaint_level_min: int | None = Field(default=3, ge=1)
    alarm: bool = True
    closed_account: ClosedAccount | None = None


class Segments(_Strict):
    clusters: int = Field(default=4, ge=2, le=20)
    traits: dict[str, dict[Literal["high", "low"], str]]
    fallback: str = "steady"


class ProfileRules(_Strict):
    version: int = 1
    emotion_scores: dict[str, float]
    features: list[FeatureRule] = Field(min_length=1)
    scores: dict[Literal["value_score", "loyalty_score", "escalation_risk"], ScoreRule]
    outcomes: Outcomes = Outcomes()
    segments: Segments
    tags: list[TagRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_known(self) -> ProfileRules:
        names = [f.name for f in self.features]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"features named twice: {', '.join(twice)}")
        known = set(names)
        for score in SCORES:
            if score not in self.scores:
                raise ValueError(f"scores: {score} is missing")
        unknown = [f"scores.{s}: {n}" for s, r in self.scores.items() for n in r.weights if n not in known]
        unknown += [f"segments.traits: {n}" for n in self.segments.traits if n not in known]
        unknown += [f"tags.{t.key}: {c.feature}" for t in self.tags for c in t.when
                    if c.feature is not None and c.feature not in known]
        if unknown:
            raise ValueError("unknown features: " + "; ".join(unknown))
        keys = [t.key for t in self.tags]
        if len(set(keys)) != len(keys):
            raise ValueError("tag keys must be unique")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def tag(self, key: str) -> TagRule | None:
        return next((t for t in self.tags if t.key == key), None)

    def tag_by_word(self, word: str) -> TagRule | None:
        """The tag stored on a profile (its Chinese words), with its key and English words."""
        return next((t for t in self.tags if word in (t.zh, t.key)), None)


def default_rules_path() -> Path:
    return Path(__file__).with_name("features.yaml")


def _location(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def load_rules(path: Path | None = None) -> ProfileRules:
    """Read and check a rules file (the shipped one by default); InvalidInput names the first problem."""
    if path is None:
        return _shipped()
    return _read(path)


@cache
def _shipped() -> ProfileRules:
    return _read(default_rules_path())


def _read(path: Path) -> ProfileRules:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path}: not YAML ({exc.__class__.__name__})", field="file") from None
    try:
        return ProfileRules.model_validate(data or {})
    except ValidationError as exc:
        raise InvalidInput(f"{path}: {_location(exc)}", field="file") from None


# --- extraction (pure) --------------------------------------------------------------------------------------
def _value(event: Any, name: str, emotion_scores: Mapping[str, float]) -> Any:
    if name == "emotion_score":
        return emotion_scores.get(str(getattr(event, "emotion", "")), None)
    return getattr(event, name, None)


def _passes(event: Any, filters: Mapping[str, Any], emotion_scores: Mapping[str, float]) -> bool:
    for name, allowed in filters.items():
        value = _value(event, name, emotion_scores)
        if isinstance(allowed, Bound):
            if value is None or (allowed.min is not None and value < allowed.min) \
                    or (allowed.max is not None and value > allowed.max):
                return False
        elif value not in allowed and str(value) not in {str(a) for a in allowed}:
            return False
    return True


def _numbers(values: Sequence[Any]) -> list[float]:
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def _source_value(history: History, rule: FeatureRule) -> float | None:
    assert rule.field is not None
    for facts in sorted(history.sources, key=lambda s: (s.status != "ok", s.source)):  # fresh sources first
        if rule.field not in facts.fields:
            continue
        raw = facts.fields[rule.field]
        if rule.equals is not None:
            return 1.0 if str(raw).strip().lower() == rule.equals.lower() else 0.0
        if isinstance(raw, list | tuple):
            return float(len(raw))
        try:
            number = float(raw)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            return number
    return None


def _feature(history: History, rule: FeatureRule, now: datetime, emotion_scores: Mapping[str, float]
             ) -> float | None:
    if rule.kind == "source_field":
        return _source_value(history, rule)
    events = [e for e in history.family(rule.source) if e.at <= now]
    if rule.window_days is not None:
        since = now - timedelta(days=rule.window_days)
        events = [e for e in events if e.at >= since]
    chosen = [e for e in events if _passes(e, rule.filters, emotion_scores)]
    if rule.kind == "count":
        return float(len(chosen))
    if rule.kind == "ratio":
        return len(chosen) / len(events) if events else None
    if rule.kind == "recency":
        if not chosen:
            return None
        at: datetime = chosen[0].at if rule.field == "first" else chosen[-1].at
        return round(float((now - at).total_seconds()) / 86400, 3)
    values = [_value(e, rule.field or "", emotion_scores) for e in chosen]
    if rule.kind in ("distinct", "repeat"):
        present = [v for v in values if v not in (None, "")]
        if rule.kind == "distinct":
            return float(len(set(present)))
        return float(max(Counter(present).values(), default=0))
    if rule.kind == "latest":
        return next((float(v) for v in reversed(_numbers(values))), None)
    numbers = _numbers(values)
    if not numbers:
        return None
    if rule.kind == "max":
        return max(numbers)
    if rule.kind == "mean":
        return round(sum(numbers) / len(numbers), 4)
    # trend: the newest `last` against the `last` before them (0 without enough events)
    recent, before = numbers[-rule.last:], numbers[-2 * rule.last:-rule.last]
    if not before:
        return 0.0
    return round(sum(recent) / len(recent) - sum(before) / len(before), 4)


def extract_features(history: History, rules: ProfileRules, *, now: datetime) -> dict[str, float | None]:
    """Every declared feature of the history as it stood at `now` (events after `now` are not seen)."""
    return {rule.name: _feature(history, rule, now, rules.emotion_scores) for rule in rules.features}


def emotion_of_history(history: History, rules: ProfileRules, *, now: datetime, recent_days: int = 14,
                       last: int = 3, threshold: float = 0.15) -> tuple[str, str]:
    """(current emotion, trend). Current: the newest message's emotion within `recent_days`, else neutral.
    Trend: the mean emotion score (angry highest) of the newest `last` messages against the `last` before
    them: rising (more upset) or falling by more than `threshold`, else steady."""
    seen = [i for i in history.interactions if i.at <= now]
    recent = [i for i in seen if i.at >= now - timedelta(days=recent_days)]
    current = recent[-1].emotion if recent else "neutral"
    if current not in ("angry", "anxious", "neutral", "satisfied"):
        current = "neutral"
    return current, emotion_trend([i.emotion for i in seen], rules.emotion_scores, last=last, threshold=threshold)


def emotion_trend(emotions: Sequence[str], scores: Mapping[str, float], *, last: int = 3,
                  threshold: float = 0.15) -> str:
    """rising (more upset), falling or steady: the mean score of the newest `last` emotions (oldest first;
    an unknown label is skipped) against the `last` before them, by more than `threshold`. The stored profile
    and the cold-start panel both read the trend this way."""
    known = [scores[e] for e in emotions if e in scores]
    newer, older = known[-last:], known[-2 * last:-last]
    if not older:
        return "steady"
    change = sum(newer) / len(newer) - sum(older) / len(older)
    return "rising" if change > threshold else "falling" if change < -threshold else "steady"


def rule_tags(rules: ProfileRules, features: Mapping[str, float | None], scores: Mapping[str, float | None]
              ) -> list[str]:
    """The keys of the tags whose every condition holds (a missing feature or score holds nothing)."""
    out = []
    for tag in rules.tags:
        ok = True
        for cond in tag.when:
            value = features.get(cond.feature) if cond.feature else scores.get(cond.score or "")
            if value is None or not _OPS[cond.op](float(value), cond.value):
                ok = False
                break
        if ok:
            out.append(tag.key)
    return out
