"""The trained heads: content type, problem type and urgency, with confidences and the features behind them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from caredesk.triage.doc import TriageDoc
from caredesk.triage.registry import Step, component

if TYPE_CHECKING:
    from caredesk.triage.model import TriageModel


@component("caredesk.classify.v1", reads=("masked",), writes=("labels", "model_version"))
def make_classify(model: TriageModel) -> Step:
    def classify(doc: TriageDoc) -> TriageDoc:
        doc.labels.update(model.predict(doc.masked))
        doc.model_version = model.version
        return doc

    return classify
