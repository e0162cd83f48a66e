"""The trained triage heads, as served: content type, problem type, urgency, emotion, out-of-scope and one per
complaint type, over one shared featuriser (TF-IDF over characters and over jieba / English words) beside the
message's multilingual sentence embedding (USE). Each head is a calibrated linear model (how it is fitted:
caredesk.triage.training). Saved as versioned artefacts of plain arrays and vocabularies, so that serving
needs numpy, not scikit-learn (caredesk.triage.linear_text)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from caredesk.compliance.masking import mask_text
from caredesk.errors import Unavailable
from caredesk.text.normalise import normalise_text
from caredesk.text.segment import tokenize
from caredesk.triage.corpus import read_corpus, seed_corpus_path
from caredesk.triage.doc import LabelScore
from caredesk.triage.emotion_features import emotion_features
from caredesk.triage.labels import HEADS
from caredesk.triage.linear_text import LinearHeads
from caredesk.triage.sentence_vectors import SentenceVectors, sentence_vectors

__all__ = ["ARTEFACT", "DENSE_WEIGHT", "TriageModel", "activate", "active_version", "dense_columns",
           "load_active_model", "model_input", "read_corpus", "seed_corpus_path"]

ARTEFACT = "model.joblib"
FORMAT = 2  # 2: plain arrays (LinearHeads); before: pickled scikit-learn objects, converted when loaded
DENSE_WEIGHT = 1.0  # the sentence embedding's scale beside the two unit-length TF-IDF halves
EXPLAINED = frozenset({*HEADS, "emotion"})  # reasons only for what a person reads: the seed axes and emotion


def dense_columns(embeddings: np.ndarray, texts: Sequence[str]) -> np.ndarray:
    """The columns after the TF-IDF ones: the (weighted) sentence embeddings, then the emotion head's own
    features."""
    return np.hstack([embeddings, emotion_features(texts)])


def model_input(text: str) -> str:
    """A text as the classify step sees it (normalised, PII masked): what the heads learn from must look like
    what they will be asked about (half-width punctuation, masked numbers)."""
    return mask_text(normalise_text(text))[0]


@dataclass
class TriageModel:
    version: str
    heads: LinearHeads  # temperatures 1: the model's own `temperatures` are applied by `scorer`
    metrics: dict[str, Any] = field(default_factory=dict)
    temperatures: dict[str, float] = field(default_factory=dict)
    dense_weight: float = DENSE_WEIGHT
    vectors: SentenceVectors = field(default_factory=sentence_vectors, repr=False, compare=False)
    _fast: LinearHeads | None = field(default=None, init=False, repr=False, compare=False)

    def dense(self, texts: Sequence[str]) -> np.ndarray:
        return dense_columns(self.vectors.encode(texts) * self.dense_weight, texts)

    def scorer(self) -> LinearHeads:
        if self._fast is None:
            self._fast = self.heads.with_temperatures(self.temperatures)
        return self._fast

    def predict(self, masked_text: str, embedding: np.ndarray | None = None) -> dict[str, LabelScore]:
        """One message: labels, calibrated scores, ranking and reasons per head. `embedding`: the text's
        sentence vector when the caller has it."""
        dense = (self.dense([masked_text])[0] if embedding is None
                 else dense_columns(embedding[None, :] * self.dense_weight, [masked_text])[0])
        return self.scorer().predict(masked_text, dense)

    def known_words(self, text: str) -> int:
        """How many of the text's word tokens the word featuriser has seen in training."""
        vocabulary = self.heads.features.part("word").vocabulary
        return sum(1 for t in tokenize(text) if t in vocabulary)

    def predict_many(self, texts: list[str]) -> list[dict[str, LabelScore]]:
        """A batch: the sentence vectors in one encoder call, then each text as `predict` scores it."""
        dense = self.dense(texts)
        scorer = self.scorer()
        return [scorer.predict(t, d) for t, d in zip(texts, dense, strict=True)]

    def save(self, root: Path) -> Path:
        folder = root / "triage" / self.version
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump({"format": FORMAT, "version": self.version, "heads": self.heads.state(),
                     "metrics": self.metrics, "temperatures": self.temperatures,
                     "dense_weight": self.dense_weight}, folder / ARTEFACT, compress=3)
        (folder / "metrics.json").write_text(json.dumps(self.metrics, indent=2, ensure_ascii=False))
        return folder

    @classmethod
    def load(cls, folder: Path) -> TriageModel:
        data = joblib.load(folder / ARTEFACT)
        if "dense_weight" not in data:
            raise Unavailable(f"triage model {data.get('version')} predates the sentence-embedding heads; "
                              f"run `caredesk train`")
        if data.get("format") == FORMAT:
            heads = LinearHeads.from_state(data["heads"])
        else:  # saved as scikit-learn objects by an earlier release: copied out once, here
            from caredesk.triage.fast_scoring import linear_heads

            heads = linear_heads(data["featuriser"], data["heads"], EXPLAINED)
        return cls(data["version"], heads, data["metrics"], data["temperatures"], data["dense_weight"])


def _active_file(root: Path) -> Path:
    return root / "triage" / "ACTIVE"


def active_version(root: Path) -> str | None:
    active = _active_file(root)
    return active.read_text().strip() or None if active.is_file() else None


def activate(model: TriageModel, root: Path) -> None:
    model.save(root)
    pending = _active_file(root).with_suffix(".tmp")
    pending.write_text(model.version)
    pending.replace(_active_file(root))  # atomic: a process reading ACTIVE never sees it half-written


def load_active_model(root: Path, *, train_if_missing: bool = True) -> TriageModel:
    """The active model; on a fresh install (or after an upgrade from the TF-IDF-only heads) the shipped
    corpus trains one (under a minute)."""
    active = _active_file(root)
    if active.is_file():
        folder = root / "triage" / active.read_text().strip()
        if (folder / ARTEFACT).is_file():
            try:
                return TriageModel.load(folder)
            except Unavailable:
                if not train_if_missing:
                    raise
    if not train_if_missing:
        raise Unavailable("no triage model is trained yet; run `caredesk train`")
    from caredesk.triage.training import train_model  # scikit-learn: only when there is no model to load

    model = train_model(read_corpus(seed_corpus_path()))
    activate(model, root)
    return model
