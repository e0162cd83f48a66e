"""What retrieval answers for a question: one knowledge entry and the calibrated confidence that it answers it.
Plain data, so the intake decision (pure) reads it without loading the retrieval models."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KbMatch"]


@dataclass(frozen=True)
class KbMatch:
    entry_id: str
    version: int
    score: float  # calibrated confidence in [0, 1] that the entry answers the question
    question: str
    answer: str
