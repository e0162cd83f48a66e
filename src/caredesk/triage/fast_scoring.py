"""Fitted scikit-learn text models copied out into the numpy-only serving classes (caredesk.triage.linear_text).

`FeatureUnion.transform` + `predict_proba` per head costs several milliseconds for a single message, nearly all
of it input validation and sparse-matrix building, and holding scikit-learn in a serving process costs ~100 MB.
`text_features` re-expresses a fitted union of TF-IDF vectorisers as vocabularies and idf arrays, and
`linear_heads` adds the triage heads' coefficients (one small dot product for all heads). The numbers are the
same as scikit-learn's (tested). Training and evaluation import this module; serving does not."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from caredesk.triage.linear_text import CHAR_WB, TOKENIZERS, WORDS, HeadSpec, LinearHeads, TextFeatures, TfidfPart

__all__ = ["linear_heads", "text_features"]

_TOKENIZER_NAMES = {fn: name for name, fn in TOKENIZERS.items()}


def _part(name: str, vec: object) -> TfidfPart:
    params = vec.get_params()  # type: ignore[attr-defined]
    if params["norm"] != "l2" or not params["use_idf"] or params["binary"]:
        raise ValueError("the fast path expects l2-normalised tf-idf parts over term counts")
    if params["preprocessor"] is not None or params["strip_accents"] or params["stop_words"] is not None:
        raise ValueError("the fast path has no preprocessor, accent stripping or stop words")
    tokenizer = params["tokenizer"]
    if params["analyzer"] == CHAR_WB:
        analyzer, token_name = CHAR_WB, None
    elif params["analyzer"] == "word" and tokenizer in _TOKENIZER_NAMES:
        analyzer, token_name = WORDS, _TOKENIZER_NAMES[tokenizer]
    else:
        raise ValueError(f"the fast path cannot reproduce the {name!r} part's analyser")
    vocabulary = {str(term): int(column) for term, column in vec.vocabulary_.items()}  # type: ignore[attr-defined]
    return TfidfPart(name, analyzer, tuple(params["ngram_range"]), bool(params["lowercase"]), token_name,
                     bool(params["sublinear_tf"]), vocabulary,
                     np.asarray(vec.idf_, dtype=np.float64))  # type: ignore[attr-defined]


def text_features(featuriser: FeatureUnion) -> TextFeatures:
    """The union's TF-IDF parts, in order, as plain vocabularies and idf weights."""
    return TextFeatures([_part(name, vec) for name, vec in featuriser.transformer_list])


def linear_heads(featuriser: FeatureUnion, heads: Mapping[str, LogisticRegression],
                 explained: frozenset[str] | None = None) -> LinearHeads:
    """The heads' coefficients stacked side by side (a head trained on fewer dense columns gets zero weight on
    the rest), split into the TF-IDF rows and the dense rows after them."""
    features = text_features(featuriser)
    specs: list[HeadSpec] = []
    start = 0
    for name, clf in heads.items():
        intercept = np.asarray(clf.intercept_, dtype=np.float64)
        specs.append(HeadSpec(name, tuple(str(c) for c in clf.classes_), start, intercept))
        start += len(intercept)
    coefs = [np.asarray(clf.coef_, dtype=np.float64).T for clf in heads.values()]
    rows = max(c.shape[0] for c in coefs)
    stacked = np.hstack([np.vstack([c, np.zeros((rows - c.shape[0], c.shape[1]))]) for c in coefs])
    return LinearHeads(features, specs, stacked[:features.width], stacked[features.width:],
                       frozenset(heads) if explained is None else explained)
