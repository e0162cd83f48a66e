"""Clustering the questions the bot could not answer (pure): TF-IDF over character n-grams (IDF fitted on
the questions plus a background corpus, normally the knowledge base's own questions, so that words every
question has weigh little), then a greedy average-linkage pass in arrival order: each question joins the
cluster whose members it resembles most on average (cosine), if that average reaches the threshold, else
it starts a new cluster. One sparse
product per question keeps memory linear; a few thousand questions take about a second.

A cluster's size counts distinct conversations, so one customer asking five times is not a trend."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from caredesk.text.normalise import normalise_text

__all__ = ["THRESHOLDS", "Cluster", "Question", "cluster_questions"]


@dataclass(frozen=True)
class Question:
    message_id: str
    conversation_id: str
    language: str
    text: str  # masked text: safe to show to editors
    content_type: str = ""
    problem_type: str = ""


@dataclass(frozen=True)
class Cluster:
    language: str
    members: tuple[Question, ...]  # most central first
    cohesion: float  # mean similarity of the members to the most central one

    @property
    def size(self) -> int:
        return len({q.conversation_id for q in self.members})

    @property
    def questions(self) -> list[str]:
        """Distinct texts, most central first (the first is the suggested standard question)."""
        seen: dict[str, str] = {}
        for q in self.members:
            seen.setdefault(_key(q.text), q.text.strip())
        return list(seen.values())

    @property
    def message_ids(self) -> list[str]:
        return sorted(q.message_id for q in self.members)

    def majority(self, attribute: str) -> str:
        counts = Counter(getattr(q, attribute) for q in self.members if getattr(q, attribute))
        return counts.most_common(1)[0][0] if counts else ""


def _key(text: str) -> str:
    return normalise_text(text).lower().rstrip("?？!！。.")


# Chinese has no spaces: character unigrams and bigrams; English: n-grams inside words. The thresholds were
# set on paraphrase sets (bank questions): paraphrases score about 0.35-0.5 (zh) and 0.6-0.8 (en) on average,
# unrelated questions below 0.25 (zh) and 0.4 (en).
ANALYSERS = {"zh": ("char", (1, 2)), "en": ("char_wb", (1, 3))}
THRESHOLDS = {"zh": 0.3, "en": 0.45}


def _vectorizer(language: str) -> TfidfVectorizer:
    analyzer, ngrams = ANALYSERS.get(language, ANALYSERS["en"])
    return TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, sublinear_tf=True)


def _cluster_one_language(
    questions: Sequence[Question], threshold: float, language: str, background: Sequence[str]
) -> tuple[list[list[int]], Any]:
    texts = [_key(q.text) for q in questions]
    vectorizer = _vectorizer(language).fit([*texts, *(_key(b) for b in background)])
    matrix = vectorizer.transform(texts)
    labels = np.full(len(texts), -1, dtype=np.int64)
    sizes: list[int] = []
    for i in range(len(texts)):
        if i:
            sims = (matrix[:i] @ matrix[i].T).toarray().ravel()
            mean = np.bincount(labels[:i], weights=sims, minlength=len(sizes)) / np.asarray(sizes)
            best = int(np.argmax(mean))
            if mean[best] >= threshold:
                labels[i] = best
                sizes[best] += 1
                continue
        labels[i] = len(sizes)
        sizes.append(1)
    groups: list[list[int]] = [[] for _ in sizes]
    for i, label in enumerate(labels):
        groups[int(label)].append(i)
    return groups, matrix


def _ordered(
    questions: Sequence[Question], group: list[int], matrix: Any
) -> tuple[tuple[Question, ...], float]:
    if len(group) == 1:
        return (questions[group[0]],), 1.0
    m = matrix[group]
    sims = (m @ m.T).toarray()
    centrality = sims.mean(axis=1)
    order = np.argsort(-centrality, kind="stable")
    return tuple(questions[group[int(i)]] for i in order), float(sims[int(order[0])].mean())


def cluster_questions(
    questions: Sequence[Question],
    *,
    min_size: int = 3,
    thresholds: Mapping[str, float] | None = None,
    background: Sequence[str] = (),
    max_questions: int = 5000,
) -> list[Cluster]:
    """Clusters of at least `min_size` distinct conversations, per language, largest first. Only the last
    `max_questions` questions of each language are considered (the input is in arrival order)."""
    limits = {**THRESHOLDS, **(thresholds or {})}
    out: list[Cluster] = []
    for language in sorted({q.language for q in questions}):
        subset = [q for q in questions if q.language == language and _key(q.text)][-max_questions:]
        if not subset:
            continue
        groups, matrix = _cluster_one_language(
            subset, limits.get(language, THRESHOLDS["en"]), language, background
        )
        for group in groups:
            members, cohesion = _ordered(subset, group, matrix)
            cluster = Cluster(language, members, round(cohesion, 4))
            if cluster.size >= min_size:
                out.append(cluster)
    return sorted(out, key=lambda c: (-c.size, c.message_ids))
