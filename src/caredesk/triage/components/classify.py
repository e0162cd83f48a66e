"""The trained heads: the seed axes into `labels`, emotion into `emotion`, out-of-scope and complaint types
into `signals` (the rules step reads them), with calibrated confidences and the words behind them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from caredesk.triage.doc import LabelScore, TriageDoc
from caredesk.triage.labels import HEADS
from caredesk.triage.registry import Step, component

if TYPE_CHECKING:
    from caredesk.triage.model import TriageModel


def assign(doc: TriageDoc, model: TriageModel, scores: dict[str, LabelScore], embedding: np.ndarray) -> TriageDoc:
    """Put the heads' scores where the later steps read them (also the batch path's: caredesk.bench)."""
    doc.embedding = embedding
    for head, score in scores.items():
        if head in HEADS:
            doc.labels[head] = score
        elif head == "emotion":
            doc.emotion = score
        else:
            doc.signals[head] = score
    doc.known_words = model.known_words(doc.masked)
    doc.model_version = model.version
    return doc


@component("caredesk.classify.v2", reads=("masked",),
           writes=("labels", "emotion", "signals", "known_words", "embedding", "model_version"))
def make_classify(model: TriageModel) -> Step:
    def classify(doc: TriageDoc) -> TriageDoc:
        embedding = model.vectors.encode([doc.masked])[0]
        return assign(doc, model, model.predict(doc.masked, embedding=embedding), embedding)

    return classify
