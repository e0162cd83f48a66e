"""The normalise step (caredesk.text.normalise)."""

from __future__ import annotations

from caredesk.text.normalise import normalise_text
from caredesk.triage.doc import TriageDoc
from caredesk.triage.registry import Step, component

__all__ = ["normalise_text"]


@component("caredesk.normalise.v1", reads=("text",), writes=("normalized",))
def make_normalise() -> Step:
    def normalise(doc: TriageDoc) -> TriageDoc:
        doc.normalized = normalise_text(doc.text)
        return doc

    return normalise
