"""Serving the linear text models with numpy alone: TF-IDF rows and the triage heads' calibrated probabilities
for one message at a time, from plain arrays and vocabularies.

Training fits scikit-learn's TfidfVectorizer and LogisticRegression (caredesk.triage.training); what serving
needs of them (vocabularies, idf weights, coefficients, classes) is copied out into these classes
(caredesk.triage.fast_scoring) and saved as plain data. An API process then never imports scikit-learn, which
with the parts of scipy it pulls in holds ~100 MB per process (docs/performance.md). The analysers below give
the terms scikit-learn's `char_wb` and tokenizer-based word analysers give (tested against them)."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from caredesk.text.segment import tokenize
from caredesk.triage.doc import LabelScore
from caredesk.triage.intent_tokens import intent_tokens

__all__ = ["TOKENIZERS", "HeadSpec", "LinearHeads", "TextFeatures", "TfidfPart", "top_reasons"]

TOP_REASONS = 6
# The word tokenizers a saved featuriser may name (a saved model names its tokenizer; it cannot pickle code).
TOKENIZERS: Mapping[str, Callable[[str], list[str]]] = {"words": tokenize, "intent_words": intent_tokens}
CHAR_WB, WORDS = "char_wb", "words"


def _char_wb_terms(text: str, low: int, high: int) -> list[str]:
    """Character n-grams inside each whitespace-separated word padded with one space either side; a padded
    word no longer than n is one term, and longer n add nothing for it."""
    terms: list[str] = []
    for word in text.split():
        padded = f" {word} "
        size = len(padded)
        for n in range(low, high + 1):
            if size <= n:
                terms.append(padded)
                break
            terms.extend(padded[i:i + n] for i in range(size - n + 1))
    return terms


def _char_wb_counts(text: str, low: int, high: int) -> Counter[str]:
    """`_char_wb_terms` counted: each distinct word is cut once (a long narrative repeats most of its words)."""
    counts: Counter[str] = Counter()
    for word, times in Counter(text.split()).items():
        for term in _char_wb_terms(word, low, high):
            counts[term] += times
    return counts


def _word_terms(tokens: Sequence[str], low: int, high: int) -> list[str]:
    """Word n-grams from `low` to `high`, joined by a space."""
    terms = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high, len(tokens)) + 1):
        terms.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return terms


@dataclass(frozen=True)
class TfidfPart:
    """One fitted TF-IDF vectoriser: how it cuts a text into terms, its vocabulary (term -> column within the
    part) and idf weights. Rows are l2-normalised term counts (1 + log count when `sublinear`) times idf."""

    name: str
    analyzer: str  # CHAR_WB or WORDS
    ngram: tuple[int, int]
    lowercase: bool
    tokenizer: str | None  # a TOKENIZERS key, for WORDS
    sublinear: bool
    vocabulary: dict[str, int]
    idf: np.ndarray

    def __post_init__(self) -> None:
        if self.analyzer not in (CHAR_WB, WORDS) or (self.analyzer == WORDS) != (self.tokenizer in TOKENIZERS):
            raise ValueError(f"unknown analyser {self.analyzer!r} / tokenizer {self.tokenizer!r}")

    def terms(self, text: str) -> list[str]:
        text = text.lower() if self.lowercase else text
        low, high = self.ngram
        if self.analyzer == CHAR_WB:
            return _char_wb_terms(text, low, high)
        return _word_terms(TOKENIZERS[self.tokenizer or ""](text), low, high)

    def term_counts(self, text: str) -> Counter[str]:
        """How often each term of `terms(text)` occurs."""
        if self.analyzer == CHAR_WB:
            low, high = self.ngram
            return _char_wb_counts(text.lower() if self.lowercase else text, low, high)
        return Counter(self.terms(text))

    def state(self) -> dict[str, Any]:
        return {"name": self.name, "analyzer": self.analyzer, "ngram": list(self.ngram),
                "lowercase": self.lowercase, "tokenizer": self.tokenizer, "sublinear": self.sublinear,
                "vocabulary": self.vocabulary, "idf": self.idf}

    @classmethod
    def from_state(cls, d: Mapping[str, Any]) -> TfidfPart:
        return cls(d["name"], d["analyzer"], (int(d["ngram"][0]), int(d["ngram"][1])), bool(d["lowercase"]),
                   d["tokenizer"], bool(d["sublinear"]), d["vocabulary"], np.asarray(d["idf"], dtype=np.float64))


class TextFeatures:
    """A union of TF-IDF parts side by side (each part's columns after the previous ones'), one text at a
    time: `row(text)` is (feature indices ascending, values), computed in float64."""

    def __init__(self, parts: Sequence[TfidfPart]) -> None:
        self.parts = list(parts)
        self.offsets = np.cumsum([0] + [len(p.vocabulary) for p in self.parts])
        self.width = int(self.offsets[-1])

    def part(self, name: str) -> TfidfPart:
        return next(p for p in self.parts if p.name == name)

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        for part, offset in zip(self.parts, self.offsets, strict=False):
            found = [(i, n) for term, n in part.term_counts(text).items()
                     if (i := part.vocabulary.get(term)) is not None]
            if not found:
                continue
            pairs = np.array(sorted(found), dtype=np.int64)  # distinct terms have distinct columns
            idx, tf = pairs[:, 0], pairs[:, 1].astype(np.float64)
            v = (np.log(tf) + 1.0 if part.sublinear else tf) * part.idf[idx]
            v /= np.sqrt(v @ v)
            cols.append(idx + offset)
            vals.append(v)
        if not cols:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(cols), np.concatenate(vals)

    def state(self) -> list[dict[str, Any]]:
        return [p.state() for p in self.parts]

    @classmethod
    def from_state(cls, parts: Sequence[Mapping[str, Any]]) -> TextFeatures:
        return cls([TfidfPart.from_state(p) for p in parts])


def top_reasons(term: Callable[[int], str | None], idx: np.ndarray, contributions: np.ndarray,
                dense_contribution: float = 0.0) -> tuple[str, ...]:
    """The words and phrases that pushed hardest towards the chosen label, as `name:+0.52`, and the sentence's
    meaning as a whole (`meaning:+0.80`) when it did. `term(column)` is a word feature's text, None for other
    columns: character n-grams and single characters explain nothing to a reader ("银", "我"), so only word
    features with a word of two or more characters in them are named ("密码", "盗刷 了"; not "我 就")."""
    positive = np.flatnonzero(contributions > 0)
    ranked = positive[np.argsort(contributions[positive], kind="stable")[::-1]]
    reasons: list[tuple[float, str]] = []
    for t in ranked:
        name = term(int(idx[t]))
        if name is None or all(len(word) < 2 for word in name.split()):
            continue
        reasons.append((float(contributions[t]), f"{name.strip()}:{contributions[t]:+.2f}"))
        if len(reasons) == TOP_REASONS:
            break
    if dense_contribution > 0.05:
        reasons.append((dense_contribution, f"meaning:{dense_contribution:+.2f}"))
        reasons.sort(key=lambda r: -r[0])
        reasons = reasons[:TOP_REASONS]
    return tuple(r for _, r in reasons)


@dataclass(frozen=True)
class HeadSpec:
    """One head's slice of the stacked weights: its classes, first column and calibration temperature. A
    binary head has one column (the score of its second class)."""

    name: str
    classes: tuple[str, ...]
    start: int
    intercept: np.ndarray
    temperature: float = 1.0

    @property
    def binary(self) -> bool:
        return len(self.intercept) == 1

    @property
    def columns(self) -> slice:
        return slice(self.start, self.start + len(self.intercept))

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Softmax over the classes of the scores divided by the temperature (the logistic of a binary
        score), as LogisticRegression.predict_proba with the head's calibration."""
        s = (scores[self.columns] + self.intercept) / self.temperature
        if self.binary:
            p1 = 1.0 / (1.0 + np.exp(-s[0]))
            return np.array([1.0 - p1, p1])
        z = np.exp(s - s.max())
        out: np.ndarray = z / z.sum()
        return out


class LinearHeads:
    """Linear heads over the TF-IDF features and the dense columns after them (the sentence embedding, then
    features only some heads were trained with), all scored with one product: labels, calibrated
    probabilities, ranking and reasons for one message. `weights`: TF-IDF features x (classes of every head);
    `dense_weights`: dense columns x the same. Dense columns beyond `dense_weights` (an older model) are
    ignored; `explained` heads get reasons, from the `explain_part` part's words."""

    def __init__(self, features: TextFeatures, heads: Sequence[HeadSpec], weights: np.ndarray,
                 dense_weights: np.ndarray, explained: frozenset[str], explain_part: str = "word") -> None:
        self.features = features
        self.heads = {h.name: h for h in heads}
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        self.dense_weights = np.ascontiguousarray(dense_weights, dtype=np.float64)
        self.explained = explained
        self.explain_part = explain_part
        names = [p.name for p in features.parts]
        self._terms_from = 0
        self._terms: list[str | None] = []
        if explain_part in names:
            i = names.index(explain_part)
            self._terms_from = int(features.offsets[i])
            self._terms = [None] * len(features.parts[i].vocabulary)
            for term, column in features.parts[i].vocabulary.items():  # the vocabulary's own strings
                self._terms[column] = term

    def term(self, column: int) -> str | None:
        at = column - self._terms_from
        return self._terms[at] if 0 <= at < len(self._terms) else None

    def predict(self, text: str, dense: np.ndarray) -> dict[str, LabelScore]:
        idx, vals = self.features.row(text)
        rows = self.weights[idx]  # the weights of this message's features only
        dense_scores = dense[:len(self.dense_weights)] @ self.dense_weights
        scores = (vals @ rows if len(idx) else np.zeros(self.weights.shape[1])) + dense_scores
        out = {}
        for name, h in self.heads.items():
            probs = h.probabilities(scores)
            order = np.argsort(probs, kind="stable")[::-1]
            best = int(order[0])
            reasons: tuple[str, ...] = ()
            if name in self.explained:
                column = h.start + (0 if h.binary else best)
                sign = -1.0 if h.binary and best == 0 else 1.0
                contributions = sign * (vals * rows[:, column]) if len(idx) else vals
                reasons = top_reasons(self.term, idx, contributions, sign * float(dense_scores[column]))
            out[name] = LabelScore(h.classes[best], float(probs[best]),
                                   tuple((h.classes[j], float(probs[j])) for j in order), reasons)
        return out

    def with_temperatures(self, temperatures: Mapping[str, float]) -> LinearHeads:
        """The same heads calibrated: features, weights and the explanation's terms are shared, not rebuilt."""
        out = copy.copy(self)
        out.heads = {name: replace(h, temperature=temperatures.get(name, 1.0)) for name, h in self.heads.items()}
        return out

    def state(self) -> dict[str, Any]:
        return {"features": self.features.state(),
                "heads": [{"name": h.name, "classes": list(h.classes), "start": h.start, "intercept": h.intercept,
                           "temperature": h.temperature} for h in self.heads.values()],
                "weights": self.weights, "dense_weights": self.dense_weights,
                "explained": sorted(self.explained), "explain_part": self.explain_part}

    @classmethod
    def from_state(cls, d: Mapping[str, Any]) -> LinearHeads:
        heads = [HeadSpec(h["name"], tuple(h["classes"]), int(h["start"]),
                          np.asarray(h["intercept"], dtype=np.float64), float(h["temperature"])) for h in d["heads"]]
        return cls(TextFeatures.from_state(d["features"]), heads, d["weights"], d["dense_weights"],
                   frozenset(d["explained"]), d["explain_part"])
