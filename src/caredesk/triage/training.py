"""Fitting the triage heads (scikit-learn): one shared featuriser, TF-IDF over characters and over jieba /
English words, beside the message's multilingual sentence embedding (USE), so that a paraphrase the corpus never
spelt out still lands near its meaning. One logistic regression per head, fitted on the corpus as it is (its
label mix is real traffic's, so rare labels are not over-predicted as a class-balanced fit would), then
calibrated: a temperature per head fitted on a held-out slice, so that a confidence of 0.8 is right about 80% of
the time (the emergency gate relies on it). The fitted objects are copied out into the numpy-only model that is
served and saved (caredesk.triage.model); only training, retraining and evaluation import this module."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import FeatureUnion
from threadpoolctl import threadpool_limits

from caredesk.errors import InvalidInput
from caredesk.text.segment import tokenize
from caredesk.triage.emotion_features import EMOTION_FEATURES
from caredesk.triage.examples import CorrectionRecord, Example, merge_examples
from caredesk.triage.fast_scoring import linear_heads
from caredesk.triage.labels import HEADS, TRAINED_HEADS
from caredesk.triage.model import DENSE_WEIGHT, EXPLAINED, TriageModel, dense_columns, model_input
from caredesk.triage.sentence_vectors import SentenceVectors, sentence_vectors

__all__ = ["OWN_FEATURE_HEADS", "FittedTriage", "fit_examples", "score_model", "train_examples", "train_model"]

C = 4.0  # inverse regularisation, chosen on the dev set (corpus/README.md)
# Heads that fit better with their own: emotion turns on a few cue words and its own features, which the shared
# setting over-regularised (dev emotion macro-F1 0.770 at 4, 0.772 at 8, 0.770 at 16; chosen on dev).
HEAD_C = {"emotion": 8.0}
MIN_EXAMPLES = 8  # a head with fewer labelled rows (or fewer of its rarer label) is not trained
# Heads that also see their own features after the shared ones (the others learn nothing from those columns).
OWN_FEATURE_HEADS = frozenset({"emotion"})


@dataclass
class FittedTriage:
    """The fitted scikit-learn featuriser and heads with their temperatures and metrics (what `model()` copies
    out into the served model; the tests compare the two)."""

    version: str
    featuriser: FeatureUnion
    heads: dict[str, LogisticRegression]
    metrics: dict[str, Any] = field(default_factory=dict)
    temperatures: dict[str, float] = field(default_factory=dict)
    vectors: SentenceVectors | None = field(default=None, repr=False, compare=False)

    def model(self) -> TriageModel:
        return TriageModel(self.version, linear_heads(self.featuriser, self.heads, EXPLAINED), self.metrics,
                           self.temperatures, DENSE_WEIGHT, self.vectors or sentence_vectors())


def _featuriser() -> FeatureUnion:
    return FeatureUnion([
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=2)),
        ("word", TfidfVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False, ngram_range=(1, 2),
                                 sublinear_tf=True, min_df=2)),
    ])


def _head(name: str = "") -> LogisticRegression:
    """Unweighted: every head keeps the corpus's label mix (measured on dev: balanced class weights gave
    emotion macro-F1 0.672 against 0.686 unweighted, and over-predict rare labels)."""
    return LogisticRegression(C=HEAD_C.get(name, C), max_iter=3000)


def _stratify(examples: Sequence[Example]) -> list[str] | None:
    """Split by urgency (the rarest label matters most) when every class can be split, else at random."""
    labels = [e.labels.get("urgency", "?") for e in examples]
    counts = Counter(labels)
    return labels if min(counts.values()) >= 2 else None


def _matrix(feat: FeatureUnion, texts: Sequence[str], embeddings: np.ndarray, *, fit: bool = False) -> Any:
    """TF-IDF, the (weighted) sentence embeddings, then the own-feature heads' columns."""
    sparse = feat.fit_transform(texts) if fit else feat.transform(texts)
    return hstack([sparse, csr_matrix(dense_columns(embeddings, texts))]).tocsr()


def _head_input(head: str, x: Any) -> Any:
    """A head's columns: all of them for a head with its own features, the shared ones for the others."""
    return x if head in OWN_FEATURE_HEADS else x[:, :x.shape[1] - len(EMOTION_FEATURES)]


def _trainable(examples: Sequence[Example], head: str) -> tuple[list[int], list[str]]:
    idx = [i for i, e in enumerate(examples) if e.labels.get(head)]
    y = [examples[i].labels[head] for i in idx]
    counts = Counter(y)
    if len(counts) < 2 or min(counts.values()) < 2 or len(idx) < MIN_EXAMPLES:
        return [], []
    return idx, y


def _fit_heads(examples: Sequence[Example], dense: np.ndarray) -> tuple[FeatureUnion, dict[str, LogisticRegression]]:
    feat = _featuriser()
    x = _matrix(feat, [e.text for e in examples], dense, fit=True)
    shared = _head_input("", x)
    heads = {}
    for head in TRAINED_HEADS:
        idx, y = _trainable(examples, head)
        if not idx:
            if head in HEADS:
                raise InvalidInput(f"head {head} needs examples of at least two labels", head=head)
            continue
        inputs = x if head in OWN_FEATURE_HEADS else shared
        heads[head] = _head(head).fit(inputs[idx], y, sample_weight=np.array([examples[i].weight for i in idx]))
    return feat, heads


def _fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """Temperature scaling: the scalar that minimises the held-out negative log-likelihood."""
    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        logp = z[np.arange(len(z)), truth] - np.log(np.exp(z).sum(axis=1))
        return float(-logp.mean())

    res = minimize_scalar(nll, bounds=(np.log(0.2), np.log(5.0)), method="bounded")
    return float(np.exp(res.x))


def _logits(clf: LogisticRegression, x: Any) -> np.ndarray:
    s = np.asarray(clf.decision_function(x), dtype=np.float64)
    return np.column_stack([np.zeros_like(s), s]) if s.ndim == 1 else s


def _temperatures(feat: FeatureUnion, heads: dict[str, LogisticRegression], held: Sequence[Example],
                  dense: np.ndarray) -> dict[str, float]:
    x = _matrix(feat, [e.text for e in held], dense)
    out = {}
    for head, clf in heads.items():
        idx = [i for i, e in enumerate(held) if e.labels.get(head) in set(map(str, clf.classes_))]
        if len(idx) < 20:
            continue
        classes = [str(c) for c in clf.classes_]
        truth = np.array([classes.index(held[i].labels[head]) for i in idx])
        out[head] = round(_fit_temperature(_logits(clf, _head_input(head, x)[idx]), truth), 4)
    return out


def score_model(model: TriageModel, examples: Sequence[Example]) -> dict[str, Any]:
    """Accuracy and macro-F1 of the seed axes on labelled examples (the classifier alone, no rules): what
    promotion compares, so the many other heads do not dilute a change on the three that decide."""
    out: dict[str, Any] = {"n_holdout": len(examples), "heads": {}}
    if not examples:
        return out
    preds = model.predict_many([e.text for e in examples])
    for head in HEADS:
        idx = [i for i, e in enumerate(examples) if e.labels.get(head)]
        if not idx:
            continue
        truth = [examples[i].labels[head] for i in idx]
        pred = [preds[i][head].label for i in idx]
        out["heads"][head] = {"accuracy": round(float(accuracy_score(truth, pred)), 4),
                              "macro_f1": round(float(f1_score(truth, pred, average="macro", zero_division=0)), 4),
                              "n": len(idx)}
    return out


def fit_examples(examples: Sequence[Example], *, holdout: float = 0.2, seed: int = 13,
                 calibrate: bool = True) -> FittedTriage:
    """Fit every head; with `holdout`, first measure on a stratified held-out slice and fit the temperatures
    there (then the final heads are fitted on all examples and keep those temperatures)."""
    examples = [replace(e, text=model_input(e.text)) for e in examples]
    vectors = sentence_vectors()
    dense = vectors.encode([e.text for e in examples], keep=True) * DENSE_WEIGHT
    metrics: dict[str, Any] = {"n_train": len(examples),
                               "n_corrections": sum(1 for e in examples if e.corrected), "heads": {}}
    temperatures: dict[str, float] = {}
    with threadpool_limits(limits=1):  # on 2 cores, BLAS threads made lbfgs slower, not faster
        if holdout:
            order = np.arange(len(examples))
            train_i, held_i = train_test_split(order, test_size=holdout, random_state=seed,
                                               stratify=_stratify(examples))
            train_part = [examples[i] for i in train_i]
            held_part = [examples[i] for i in held_i]
            feat, heads = _fit_heads(train_part, dense[train_i])
            temperatures = _temperatures(feat, heads, held_part, dense[held_i]) if calibrate else {}
            measured = score_model(FittedTriage("holdout", feat, heads, {}, temperatures, vectors).model(),
                                   held_part)
            metrics["heads"] = measured["heads"]
            metrics["n_holdout"] = measured["n_holdout"]
            metrics["temperatures"] = temperatures
        feat, heads = _fit_heads(examples, dense)
    version = datetime.now(UTC).strftime("v%Y%m%d%H%M%S%f")
    return FittedTriage(version, feat, heads, metrics, temperatures, vectors)


def train_examples(examples: Sequence[Example], *, holdout: float = 0.2, seed: int = 13,
                   calibrate: bool = True) -> TriageModel:
    """`fit_examples`, as the model that is served and saved."""
    return fit_examples(examples, holdout=holdout, seed=seed, calibrate=calibrate).model()


def train_model(rows: list[dict[str, str]], *, holdout: float = 0.2, seed: int = 13,
                corrections: Sequence[CorrectionRecord] = (), calibrate: bool = True) -> TriageModel:
    """The corpus rows plus agents' corrections (see `merge_examples`)."""
    return train_examples(merge_examples(rows, corrections), holdout=holdout, seed=seed, calibrate=calibrate)
