"""The typed result of triage: what every step reads and writes (no dict bags between steps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Entity", "LabelScore", "TriageDoc"]


@dataclass(frozen=True, slots=True)
class LabelScore:
    label: str
    confidence: float
    ranking: tuple[tuple[str, float], ...] = ()
    reasons: tuple[str, ...] = ()  # words, rules and scores that drove the label


@dataclass(frozen=True, slots=True)
class Entity:
    kind: str  # phone, id_card, bank_card, email, amount, date, account_no, ...
    text: str  # always the masked form: raw PII never leaves the PII step
    start: int
    end: int


@dataclass(slots=True)
class TriageDoc:
    text: str  # as received; only the PII step reads it
    normalized: str = ""
    language: str = "und"
    masked: str = ""
    display: str = ""  # the customer's own text, PII masked, punctuation as written: what people are shown
    tokens: list[str] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    labels: dict[str, LabelScore] = field(default_factory=dict)
    emotion: LabelScore = field(default_factory=lambda: LabelScore("neutral", 1.0))
    complaint_level: int = 0
    complaint_types: list[str] = field(default_factory=list)
    model_version: str = ""
    signals: dict[str, LabelScore] = field(default_factory=dict)  # out-of-scope and complaint-type heads
    rules: list[str] = field(default_factory=list)  # every rule that changed a label, e.g. urgent:fraud
    hard_rules: list[str] = field(default_factory=list)  # those that start the emergency response by themselves
    out_of_scope: bool = False  # not a customer-service message at all: asked to clarify, no work order
    handoff: bool = False  # the customer asked for a person
    known_words: int = 0  # word tokens the model knows (none in a Latin-only text: gibberish or off-topic)
    embedding: np.ndarray | None = None  # the masked text's sentence vector: knowledge search reuses it
    topic: str | None = None  # business intent (triage/lexicons/topics.yaml); None: no topic's phrase found
    product: str | None = None  # the product the message names (or its topic implies)
    topic_reasons: tuple[str, ...] = ()  # the phrases that decided them, e.g. topic:card_lost_frozen:挂失

    def label(self, head: str) -> LabelScore:
        return self.labels[head]

    def explanation(self) -> dict[str, object]:
        return {
            head: {"label": s.label, "confidence": round(s.confidence, 4), "reasons": list(s.reasons),
                   "ranking": [[lab, round(p, 4)] for lab, p in s.ranking],
                   "runner_up": [s.ranking[1][0], round(s.ranking[1][1], 4)] if len(s.ranking) > 1 else None}
            for head, s in self.labels.items()
        } | {
            "emotion": {"label": self.emotion.label, "confidence": round(self.emotion.confidence, 4),
                        "reasons": list(self.emotion.reasons)},
            "complaint": {"level": self.complaint_level, "types": self.complaint_types},
            "rules": list(self.rules), "hard_rules": list(self.hard_rules),
            "out_of_scope": self.out_of_scope, "handoff": self.handoff,
            "topic": {"topic": self.topic, "product": self.product, "reasons": list(self.topic_reasons)},
        }
