"""Past problems, similar ones first: a customer's resolved and closed work orders ordered by how close each
is in meaning to what they are asking about now (the latest conversation's customer messages), with the
sentence encoder that knowledge retrieval uses (caredesk/text/encoder.py: multilingual, cached per text).
Without an encoder (or without a current question) the comparison is lexical: the share of the current
question's terms (knowledge/lexical.py `query_terms`) found in the case. Pure apart from the encoder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from caredesk.knowledge.lexical import query_terms
from caredesk.text.encoder import Embedder

__all__ = ["SIMILAR_AT", "PastCase", "rank_past_cases"]

SIMILAR_AT = 0.5  # similarity from which a past case counts as similar and goes first
LEXICAL_SIMILAR_AT = 0.15  # the same, for the lexical comparison (share of the question's terms in the case)


@dataclass(frozen=True)
class PastCase:
    order_id: str
    number: str  # the case number people quote
    summary: str  # masked
    resolution: str  # masked; "" when none was written
    closed_at: datetime
    similarity: float = 0.0
    similar: bool = False


def _lexical(question: str, texts: Sequence[str]) -> list[float]:
    wanted = set(query_terms(question))
    if not wanted:
        return [0.0] * len(texts)
    return [len(wanted & set(query_terms(t))) / len(wanted) for t in texts]


def rank_past_cases(cases: Sequence[PastCase], question: str, embedder: Embedder | None = None
                    ) -> list[PastCase]:
    """The cases with their similarity to `question`: those at or above the threshold first (most similar
    first), then the others newest first."""
    if not cases:
        return []
    texts = [c.summary for c in cases]
    if not question.strip():
        scores = [0.0] * len(cases)
        threshold = 1.0
    elif embedder is not None:
        vectors = embedder.encode([question, *texts])
        scores = [float(s) for s in np.clip(vectors[1:] @ vectors[0], 0.0, 1.0)]
        threshold = SIMILAR_AT
    else:
        scores = _lexical(question, texts)
        threshold = LEXICAL_SIMILAR_AT
    scored = [replace(c, similarity=round(s, 4), similar=s >= threshold) for c, s in zip(cases, scores, strict=True)]
    return sorted(scored, key=lambda c: (not c.similar, -c.similarity if c.similar else 0.0,
                                         -c.closed_at.timestamp()))
