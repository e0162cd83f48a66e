"""Pure rules for agent label corrections: which heads an agent may correct, with which labels, and how
corrections become training examples (the latest word on a text and head wins)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from caredesk.errors import InvalidInput
from caredesk.triage.labels import HEADS, TRAINED_HEADS, Emotion

__all__ = [
    "CORRECTABLE",
    "TRAINED_HEADS",
    "CorrectionRecord",
    "Example",
    "check_correction",
    "correctable_heads",
    "merge_examples",
]

# Every head an agent may correct; the trained heads (caredesk.triage.labels.TRAINED_HEADS, emotion among
# them) learn from those corrections.
CORRECTABLE: dict[str, tuple[str, ...]] = {head: tuple(m.value for m in labels)
                                           for head, labels in HEADS.items()}
CORRECTABLE["emotion"] = tuple(m.value for m in Emotion)


def correctable_heads(intent_labels: Sequence[str] = ()) -> dict[str, tuple[str, ...]]:
    """The heads and labels an agent may pick; `intent` joins when the active model has an intent head."""
    heads = dict(CORRECTABLE)
    if intent_labels:
        heads["intent"] = tuple(intent_labels)
    return heads


def check_correction(head: str, label: str, heads: Mapping[str, Sequence[str]] = CORRECTABLE) -> None:
    """Raise InvalidInput (400, code invalid_input) naming what is allowed."""
    if head not in heads:
        raise InvalidInput(f"unknown head {head!r}", field="head", allowed=sorted(heads))
    if label not in heads[head]:
        raise InvalidInput(f"{label!r} is not a {head} label", field="label", allowed=list(heads[head]))


@dataclass(frozen=True, slots=True)
class CorrectionRecord:
    """A stored correction as training reads it: masked text only."""

    text_masked: str
    head: str
    label: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Example:
    """One training text with the labels known for it (a seed row knows every head, a correction one)."""

    text: str
    labels: Mapping[str, str]
    weight: float = 1.0
    corrected: bool = False


def merge_examples(seed_rows: Iterable[Mapping[str, str]], corrections: Iterable[CorrectionRecord], *,
                   correction_weight: float = 3.0, heads: Sequence[str] = TRAINED_HEADS) -> list[Example]:
    """Seed rows plus corrections, one example per text: a correction overrides that text's label for its
    head (the newest correction wins) and weighs `correction_weight`, since an agent checked it on real
    traffic. Corrections of heads the model does not train (emotion) are left out."""
    merged: dict[str, dict[str, str]] = {}
    corrected: set[str] = set()
    for row in seed_rows:
        merged.setdefault(row["text"], {}).update({h: row[h] for h in heads if h in row})
    for c in sorted(corrections, key=lambda c: c.created_at):
        if c.head in heads and c.text_masked.strip():
            merged.setdefault(c.text_masked, {})[c.head] = c.label
            corrected.add(c.text_masked)
    return [Example(text, labels, correction_weight if text in corrected else 1.0, text in corrected)
            for text, labels in merged.items()]
