"""Linear models over the fitted TF-IDF features, one message at a time, without scikit-learn's per-call
overhead.

`FeatureUnion.transform` + `predict_proba` per head costs several milliseconds for a single message, nearly
all of it input validation and sparse-matrix building. `FastFeaturiser` re-expresses a fitted union of TF-IDF
vectorisers as plain arrays (one pass of the analysers gives the message's sparse row); `FastTriageScorer`
adds the triage heads' coefficients (one small dot product for all heads), and the intent model its SVM
(caredesk.triage.intent). The numbers are the same as the scikit-learn path (tested); the models'
`predict_many` keep that path for batches."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from caredesk.triage.doc import LabelScore

__all__ = ["FastFeaturiser", "FastTriageScorer", "top_reasons"]

TOP_REASONS = 6


def top_reasons(names: np.ndarray, idx: np.ndarray, contributions: np.ndarray,
                dense_contribution: float = 0.0) -> tuple[str, ...]:
    """The words and phrases that pushed hardest towards the chosen label, as `name:+0.52`, and the sentence's
    meaning as a whole (`meaning:+0.80`) when it did. Character n-grams and single characters explain nothing
    to a reader ("银", "我"), so only word features are named, and only those with a word of two or more
    characters in them ("密码", "盗刷 了"; not "我 就")."""
    positive = np.flatnonzero(contributions > 0)
    ranked = positive[np.argsort(contributions[positive], kind="stable")[::-1]]
    reasons: list[tuple[float, str]] = []
    for t in ranked:
        kind, _, name = str(names[idx[t]]).partition("__")
        name = name.strip()
        if kind != "word" or all(len(part) < 2 for part in name.split()):
            continue
        reasons.append((float(contributions[t]), f"{name}:{contributions[t]:+.2f}"))
        if len(reasons) == TOP_REASONS:
            break
    if dense_contribution > 0.05:
        reasons.append((dense_contribution, f"meaning:{dense_contribution:+.2f}"))
        reasons.sort(key=lambda r: -r[0])
        reasons = reasons[:TOP_REASONS]
    return tuple(r for _, r in reasons)


class _Head:
    """One head's slice of the stacked weight matrix (all heads are scored with one product)."""

    def __init__(self, clf: LogisticRegression, start: int, temperature: float = 1.0) -> None:
        coef = np.asarray(clf.coef_, dtype=np.float64)
        self.binary = coef.shape[0] == 1
        self.columns = slice(start, start + coef.shape[0])
        self.width = coef.shape[0]
        self.intercept = np.asarray(clf.intercept_, dtype=np.float64)
        self.classes = [str(c) for c in clf.classes_]
        self.temperature = temperature

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """As LogisticRegression.predict_proba, with the head's calibration temperature: softmax over
        classes, or the logistic of a binary score."""
        s = (scores[self.columns] + self.intercept) / self.temperature
        if self.binary:
            p1 = 1.0 / (1.0 + np.exp(-s[0]))
            return np.array([1.0 - p1, p1])
        z = np.exp(s - s.max())
        out: np.ndarray = z / z.sum()
        return out


class _TfidfPart(NamedTuple):
    """One fitted vectoriser of the union: its analyser, vocabulary, idf weights and first column."""

    analyze: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: np.ndarray
    offset: int
    sublinear: bool


class FastFeaturiser:
    """A fitted `FeatureUnion` of l2-normalised TF-IDF vectorisers, for one text at a time: `row(text)` is the
    row `featuriser.transform([text])` gives (computed in float64; a float32 vectoriser's own output differs
    from it by float32 rounding). Built once per fitted featuriser; the union's columns are its parts' in
    order, `width` of them."""

    def __init__(self, featuriser: FeatureUnion) -> None:
        self.parts: list[_TfidfPart] = []
        offset = 0
        for _name, vec in featuriser.transformer_list:
            if vec.norm != "l2" or not vec.use_idf or vec.binary:
                raise ValueError("the fast path expects l2-normalised tf-idf parts over term counts")
            vocabulary: dict[str, int] = vec.vocabulary_
            idf = np.asarray(vec.idf_, dtype=np.float64)
            self.parts.append(_TfidfPart(vec.build_analyzer(), vocabulary, idf, offset, vec.sublinear_tf))
            offset += len(vocabulary)
        self.width = offset

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(feature indices ascending, tf-idf values): each part's term counts, tf (1 + log tf when
        sublinear) times idf, l2-normalised on its own."""
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        for analyze, vocabulary, idf, offset, sublinear in self.parts:
            ids = [i for i in map(vocabulary.get, analyze(text)) if i is not None]
            if not ids:
                continue
            idx, counts = np.unique(np.array(ids, dtype=np.int64), return_counts=True)  # sorted, counted
            tf = counts.astype(np.float64)
            v = (np.log(tf) + 1.0 if sublinear else tf) * idf[idx]
            v /= np.sqrt(v @ v)
            cols.append(idx + offset)
            vals.append(v)
        if not cols:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(cols), np.concatenate(vals)


class FastTriageScorer:
    """The triage heads (logistic regressions over the shared TF-IDF featuriser and the dense columns after it:
    the sentence embedding, then features only some heads were trained with): labels, calibrated
    probabilities, ranking and reasons for one message. A head trained on fewer dense columns has zero
    weight on the rest; dense columns that no head was trained with (an older model) are ignored."""

    def __init__(self, featuriser: FeatureUnion, heads: dict[str, LogisticRegression],
                 temperatures: dict[str, float] | None = None, explained: frozenset[str] | None = None) -> None:
        self.features = FastFeaturiser(featuriser)
        self.explained = frozenset(heads) if explained is None else explained  # heads whose reasons are shown
        self.names = featuriser.get_feature_names_out()
        self.heads: dict[str, _Head] = {}
        start = 0
        for head, clf in heads.items():
            self.heads[head] = _Head(clf, start, (temperatures or {}).get(head, 1.0))
            start += self.heads[head].width
        coefs = [np.asarray(clf.coef_, dtype=np.float64).T for clf in heads.values()]
        rows = max(c.shape[0] for c in coefs)
        stacked = np.hstack([np.vstack([c, np.zeros((rows - c.shape[0], c.shape[1]))]) for c in coefs])
        width = self.features.width
        self.weights = np.ascontiguousarray(stacked[:width])  # TF-IDF features x (classes of every head)
        self.dense_weights = np.ascontiguousarray(stacked[width:])  # dense columns x (classes of every head)

    def predict(self, text: str, dense: np.ndarray) -> dict[str, LabelScore]:
        idx, vals = self.features.row(text)
        rows = self.weights[idx]  # the weights of this message's features only
        dense_scores = dense[:len(self.dense_weights)] @ self.dense_weights
        scores = (vals @ rows if len(idx) else np.zeros(self.weights.shape[1])) + dense_scores
        out = {}
        for head, h in self.heads.items():
            probs = h.probabilities(scores)
            order = np.argsort(probs, kind="stable")[::-1]
            best = int(order[0])
            reasons: tuple[str, ...] = ()
            if head in self.explained:
                column = h.columns.start + (0 if h.binary else best)
                sign = -1.0 if h.binary and best == 0 else 1.0
                contributions = sign * (vals * rows[:, column]) if len(idx) else vals
                reasons = top_reasons(self.names, idx, contributions, sign * float(dense_scores[column]))
            out[head] = LabelScore(h.classes[best], float(probs[best]),
                                   tuple((h.classes[j], float(probs[j])) for j in order), reasons)
        return out
