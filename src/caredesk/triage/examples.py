"""Training examples: the seed corpus rows plus agents' corrections, one example per text. The model trains on
these, so they stay beside it in triage; the learning loop (caredesk.learning) supplies the corrections."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from caredesk.triage.labels import TRAINED_HEADS

__all__ = ["CorrectionRecord", "Example", "merge_examples"]


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
