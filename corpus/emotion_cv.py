#!/usr/bin/env python3
"""Choose emotion-head settings by cross-validation on the training corpus, then read dev once.

    .venv/bin/python corpus/build.py
    .venv/bin/python corpus/emotion_cv.py --features shared --c 8 --weights none
    .venv/bin/python corpus/emotion_cv.py --features own --c 16 --weights balanced

Fits the emotion head alone (the shared TF-IDF, or its own with character 1-4-grams, beside the sentence
embedding and the emotion features), applies the lexicon's emotion cues after it as the product does, and
prints macro-F1: 5-fold cross-validation on src/caredesk/triage/corpus/shipped.csv, the same with per-class
offsets on the log-probabilities chosen on those folds, and dev (var/corpus/dev.csv) with and without the
offsets. No sample weights and no temperature, so dev differs from `caredesk eval` by a row or two
(corpus/README.md, "Emotion, second follow-up"). Slow: five fits and a dev fit, minutes each on 2 cores.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion
from threadpoolctl import threadpool_limits

from caredesk.text.segment import tokenize
from caredesk.triage.components.lexicon_rules import emotion_cues_of, load_lexicons
from caredesk.triage.corpus import read_corpus
from caredesk.triage.emotion_features import emotion_features
from caredesk.triage.model import model_input
from caredesk.triage.sentence_vectors import sentence_vectors
from caredesk.triage.training import _featuriser

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ["angry", "anxious", "neutral", "satisfied"]
CUED = ("angry", "anxious", "satisfied")  # the order the lexicon step tries them in


def _own_featuriser() -> FeatureUnion:
    return FeatureUnion([
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=2)),
        ("word", TfidfVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False, ngram_range=(1, 2),
                                 sublinear_tf=True, min_df=2)),
    ])


def _load(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, list[dict[str, list[str]]]]:
    rows = [r for r in read_corpus(path) if r.get("emotion")]
    texts = [model_input(r["text"]) for r in rows]
    dense = np.hstack([sentence_vectors().encode(texts), emotion_features(texts)])
    lex = load_lexicons()
    return texts, dense, np.array([CLASSES.index(r["emotion"]) for r in rows]), [
        emotion_cues_of(t.lower(), lex) for t in texts]


def _log_proba(args: argparse.Namespace, train: tuple[list[str], np.ndarray, np.ndarray],
               test: tuple[list[str], np.ndarray]) -> np.ndarray:
    feat = _own_featuriser() if args.features == "own" else _featuriser()
    x_train = hstack([feat.fit_transform(train[0]), csr_matrix(train[1])]).tocsr()
    x_test = hstack([feat.transform(test[0]), csr_matrix(test[1])]).tocsr()
    clf = LogisticRegression(C=args.c, max_iter=3000, class_weight=None if args.weights == "none" else "balanced")
    with threadpool_limits(limits=1):
        clf.fit(x_train, train[2])
    out: np.ndarray = clf.predict_log_proba(x_test)
    return out


def _decide(logp: np.ndarray, cues: list[dict[str, list[str]]], offsets: np.ndarray) -> np.ndarray:
    """The head's label, then the lexicon's cue overrides (on neutral; angry also over satisfied)."""
    pred: np.ndarray = (logp + offsets).argmax(1)
    for i, found in enumerate(cues):
        current = CLASSES[pred[i]]
        for emotion in CUED:
            if found.get(emotion) and (current == "neutral" or (emotion == "angry" and current == "satisfied")):
                pred[i] = CLASSES.index(emotion)
                break
    return pred


def _macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    return float(f1_score(y, pred, average="macro", zero_division=0))


def _offsets(logp: np.ndarray, y: np.ndarray, cues: list[dict[str, list[str]]]) -> np.ndarray:
    """Per-class additive offsets (neutral fixed at 0) by coordinate ascent on macro-F1."""
    best, score = np.zeros(len(CLASSES)), _macro_f1(y, _decide(logp, cues, np.zeros(len(CLASSES))))
    for _ in range(3):
        for c in (0, 1, 3):
            for g in np.arange(-1.5, 1.51, 0.1):
                trial = best.copy()
                trial[c] = g
                if (s := _macro_f1(y, _decide(logp, cues, trial))) > score + 1e-9:
                    best, score = trial, s
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", choices=("shared", "own"), default="shared")
    parser.add_argument("--c", type=float, default=8.0)
    parser.add_argument("--weights", choices=("none", "balanced"), default="none")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    texts, dense, y, cues = _load(ROOT / "src/caredesk/triage/corpus/shipped.csv")
    oof = np.zeros((len(y), len(CLASSES)))
    for train_i, test_i in StratifiedKFold(args.folds, shuffle=True, random_state=0).split(dense, y):
        oof[test_i] = _log_proba(args, ([texts[i] for i in train_i], dense[train_i], y[train_i]),
                                 ([texts[i] for i in test_i], dense[test_i]))
    none = np.zeros(len(CLASSES))
    offsets = _offsets(oof, y, cues)
    shown = dict(zip(CLASSES, offsets.round(2).tolist(), strict=True))
    print(f"CV {_macro_f1(y, _decide(oof, cues, none)):.4f}; offsets {shown} "
          f"-> CV {_macro_f1(y, _decide(oof, cues, offsets)):.4f}")
    dev_texts, dev_dense, dev_y, dev_cues = _load(ROOT / "var/corpus/dev.csv")
    logp = _log_proba(args, (texts, dense, y), (dev_texts, dev_dense))
    print(f"dev {_macro_f1(dev_y, _decide(logp, dev_cues, none)):.4f}; "
          f"with the offsets {_macro_f1(dev_y, _decide(logp, dev_cues, offsets)):.4f}")


if __name__ == "__main__":
    main()
